import { IdentitySettings } from './identity-settings';

export const USER_ID = 'user_id';
export const ANONYMOUS_ID = 'anonymous_id';
export const EMAIL = 'email';

/** Longer values are not identifiers (they would bloat the unique index for no use). */
export const MAX_IDENTIFIER_LENGTH = 255;

export interface Identifier {
  type: string;
  value: string;
}

/** What identity resolution needs to know about one message. */
export interface IdentitySubject {
  userId?: string;
  anonymousId?: string;
  traits?: Record<string, unknown>;
  contextTraits?: Record<string, unknown>;
  /** The `previousId` of an alias call. */
  previousId?: string;
}

export interface SubjectIdentifiers {
  identifiers: Identifier[];
  /** Resolved against existing identities: a known user_id, else an anonymous_id. */
  previousId?: string;
}

/** Where an identifier keeps its key once computed: hidden from spreads, JSON and equality checks. */
const KEY = Symbol('identifierKey');

/**
 * `type NUL value`: what maps of identifiers are keyed by. Resolving a request looks each
 * identifier up in several maps; the key is built (and hashed) once per identifier object, not
 * per lookup, which took about a fifth of identity resolution's time (bench:ingest-stages). Identifiers are
 * never changed once made, so the kept key stays right.
 */
export function identifierKey(identifier: Identifier): string {
  const kept = (identifier as { [KEY]?: string })[KEY];
  if (kept !== undefined) return kept;
  const key = `${identifier.type}\u0000${identifier.value}`;
  // Flattened now, so every map hashes one flat string (a concatenation is a tree of pieces).
  key.charCodeAt(0);
  if (Object.isExtensible(identifier)) Object.defineProperty(identifier, KEY, { value: key });
  return key;
}

/** Trims and, for emails, lower-cases; undefined when the value is blocked or unusable. */
export function normalizeIdentifier(type: string, raw: unknown, settings: IdentitySettings): string | undefined {
  if (typeof raw !== 'string' && typeof raw !== 'number') return undefined;
  const trimmed = String(raw).trim();
  if (trimmed.length === 0 || trimmed.length > MAX_IDENTIFIER_LENGTH) return undefined;
  if (settings.blockedValues.includes(trimmed.toLowerCase())) return undefined;
  return type === EMAIL ? trimmed.toLowerCase() : trimmed;
}

/** The identifiers a message carries, in priority order, without duplicates or blocked values. */
export function identifiersOf(subject: IdentitySubject, settings: IdentitySettings): SubjectIdentifiers {
  const found: Identifier[] = [];
  const add = (type: string, raw: unknown): void => {
    const value = normalizeIdentifier(type, raw, settings);
    if (value !== undefined && !found.some((i) => i.type === type && i.value === value)) found.push({ type, value });
  };
  add(USER_ID, subject.userId);
  add(EMAIL, subject.traits?.email);
  add(EMAIL, subject.contextTraits?.email);
  for (const extra of settings.extraIdentifiers) {
    add(extra.type, subject.traits?.[extra.trait]);
    add(extra.type, subject.contextTraits?.[extra.trait]);
  }
  add(ANONYMOUS_ID, subject.anonymousId);
  const previousId = normalizeIdentifier(USER_ID, subject.previousId, settings);
  return previousId === undefined ? { identifiers: found } : { identifiers: found, previousId };
}

/** Every identity row that could match a message, for the batched lookup. */
export function lookupCandidates(subject: SubjectIdentifiers): Identifier[] {
  if (subject.previousId === undefined) return subject.identifiers;
  return [
    ...subject.identifiers,
    { type: USER_ID, value: subject.previousId },
    { type: ANONYMOUS_ID, value: subject.previousId },
  ];
}
