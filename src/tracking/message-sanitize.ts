import { childPath, hasUnstorableText, storableText } from '../common/storable-text';

/**
 * What Postgres cannot store in a tracking message is replaced, not refused: U+0000 and unpaired
 * surrogates become U+FFFD (the event is stored and the quarantine records a warning), and a
 * message nested deeper than MAX_MESSAGE_DEPTH is refused, its stored copy cut at that depth.
 */

/** Levels of objects and arrays a message may nest, the message itself being level 1. */
export const MAX_MESSAGE_DEPTH = 64;

export const REPLACED_REASON = 'contained NUL or unpaired surrogate characters; they were replaced by U+FFFD';

const CUT_MARKER = '[nested too deep]';

export interface Sanitized {
  value: unknown;
  /** Paths (relative to the value) of the keys and strings that had characters replaced. */
  replaced: string[];
}

function walk(value: unknown, path: string, depth: number, replaced: string[]): unknown {
  if (typeof value === 'string') {
    if (!hasUnstorableText(value)) return value;
    replaced.push(path);
    return storableText(value);
  }
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_MESSAGE_DEPTH) return CUT_MARKER;
  if (Array.isArray(value)) return value.map((item, index) => walk(item, childPath(path, index), depth + 1, replaced));
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    let storedKey = key;
    if (hasUnstorableText(key)) {
      storedKey = storableText(key);
      replaced.push(childPath(path, storedKey));
    }
    // defineProperty: a key "__proto__" stays a key and does not set the copy's prototype.
    Object.defineProperty(copy, storedKey, {
      value: walk(child, childPath(path, storedKey), depth + 1, replaced),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

/** A copy of a JSON value that Postgres can store, and where characters were replaced. */
export function sanitize(value: unknown): Sanitized {
  const replaced: string[] = [];
  return { value: walk(value, '', 0, replaced), replaced };
}
