/**
 * Postgres text and jsonb cannot hold U+0000, and a lone UTF-16 surrogate is not a character at
 * all (jsonb refuses its escape; the driver silently turns it into U+FFFD). Input is checked for
 * both before it reaches SQL, so such a value is a clear 400 or a visible replacement, never a
 * 500 from the database.
 */

// eslint-disable-next-line no-control-regex -- finding NUL is the point
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

export const REPLACEMENT_CHARACTER = '\uFFFD';

/** True when the text holds NUL or an unpaired surrogate. */
export function hasUnstorableText(text: string): boolean {
  return UNSTORABLE.test(text);
}

/** The text with every NUL and unpaired surrogate replaced by U+FFFD. */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE_ALL, REPLACEMENT_CHARACTER);
}

/** `a.b`, `a[3]`: the path of a value inside a JSON document, for error messages. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

/**
 * The path of the first string (key or value) in a JSON value that holds NUL or an unpaired
 * surrogate, or undefined. Stops descending at `maxDepth` (deeper input is refused elsewhere).
 */
export function findUnstorableText(value: unknown, path: string, maxDepth = 256): string | undefined {
  if (typeof value === 'string') return hasUnstorableText(value) ? path : undefined;
  if (typeof value !== 'object' || value === null || maxDepth <= 0) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const found = findUnstorableText(value[i], childPath(path, i), maxDepth - 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    if (hasUnstorableText(key)) return childPath(path, storableText(key));
    const found = findUnstorableText(child, childPath(path, key), maxDepth - 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** True when a JSON value nests objects or arrays deeper than `limit` levels (the value itself is level 1). */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit <= 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (nestsDeeperThan(item, limit - 1)) return true;
    return false;
  }
  for (const key in value) {
    if (nestsDeeperThan((value as Record<string, unknown>)[key], limit - 1)) return true;
  }
  return false;
}
