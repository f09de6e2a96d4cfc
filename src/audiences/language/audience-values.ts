/**
 * How JSON values in traits and event properties are read as numbers and instants. The SQL side of
 * these rules lives in prisma/migrations: personae_json_instant in 20261122010000_audience_functions,
 * personae_json_number as replaced in 20261122030000_faster_json_number; audience-values.spec.ts checks that both use the
 * same regular expressions, and the differential test checks that they agree on data.
 */
import { type DateLiteral, type Duration, durationSeconds } from './audience-ast';

/**
 * A string that reads as a number: optional minus, digits, optional fraction. No exponent, no
 * spaces, no "+", and at most NUMERIC_STRING_MAX_LENGTH characters so that every match converts
 * to a finite double without error in Postgres.
 */
export const NUMERIC_STRING_PATTERN = '^-?[0-9]+(\\.[0-9]+)?$';
export const NUMERIC_STRING_MAX_LENGTH = 300;
const NUMERIC_STRING = new RegExp(NUMERIC_STRING_PATTERN);

/**
 * An ISO 8601 date or date-time as found in data: `2026-01-31`, `2026-01-31T10:00`,
 * `2026-01-31 10:00:00.123+05:30`, `…Z`, `…-0800`. Without an offset the time is UTC. Milliseconds
 * at most, since timestamps are stored with millisecond precision.
 */
export const INSTANT_STRING_PATTERN =
  '^([1-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])' +
  '(?:[T ]([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9](?:\\.[0-9]{1,3})?))?' +
  '(Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?)?$';
const INSTANT_STRING = new RegExp(INSTANT_STRING_PATTERN);

/** Date literals in the language are stricter than data: a `T` separator and `±HH:MM` offsets only. */
export const DATE_LITERAL_PATTERN =
  /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/** The number a JSON value stands for, or undefined: JSON numbers, and strings that read as numbers. */
export function jsonNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.length <= NUMERIC_STRING_MAX_LENGTH && NUMERIC_STRING.test(value)) {
    return Number(value);
  }
  return undefined;
}

/** Milliseconds since the epoch of an ISO string in the accepted forms, or undefined. */
export function parseInstant(text: string): number | undefined {
  const match = INSTANT_STRING.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, offset] = match;
  const y = Number(year);
  const mo = Number(month);
  const d = Number(day);
  // Reject 2026-02-30 and friends: the day must not roll over into the next month.
  if (new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return undefined;
  const millis = Math.round(Number(second ?? '0') * 1000);
  const local = Date.UTC(y, mo - 1, d, Number(hour ?? '0'), Number(minute ?? '0')) + millis;
  if (offset === undefined || offset === 'Z') return local;
  const sign = offset.startsWith('-') ? -1 : 1;
  const offsetMinutes = Number(offset.slice(1, 3)) * 60 + Number(offset.slice(-2));
  return local - sign * offsetMinutes * 60_000;
}

/** The instant a JSON value stands for: only strings in the accepted ISO forms. */
export function jsonInstant(value: unknown): number | undefined {
  return typeof value === 'string' ? parseInstant(value) : undefined;
}

/** The instant of a date literal that passed validation. */
export function dateLiteralMillis(literal: DateLiteral): number {
  const millis = parseInstant(literal.date);
  if (millis === undefined) throw new Error(`Invalid date literal ${literal.date}`);
  return millis;
}

export function isValidDateLiteral(text: string): boolean {
  return DATE_LITERAL_PATTERN.test(text) && parseInstant(text) !== undefined;
}

export function minusDuration(now: Date, duration: Duration): Date {
  return new Date(now.getTime() - durationSeconds(duration) * 1000);
}

/**
 * Compares strings by Unicode code point, which is the order of their UTF-8 bytes and so of
 * Postgres under COLLATE "C". JavaScript's `<` compares UTF-16 code units, which differs for
 * characters outside the Basic Multilingual Plane.
 */
export function compareCodePoints(a: string, b: string): number {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const l = left.next();
    const r = right.next();
    if (l.done || r.done) return (l.done ? 0 : 1) - (r.done ? 0 : 1);
    const diff = (l.value.codePointAt(0) ?? 0) - (r.value.codePointAt(0) ?? 0);
    if (diff !== 0) return diff;
  }
}

const ARRAY_INDEX = /^[\t\n\v\f\r ]*[+-]?[0-9]+$/;

/**
 * Follows a path into a JSON document the way Postgres' `#>` does: object keys by name, array
 * elements by (possibly negative) index. Undefined when the path leads nowhere.
 */
export function jsonAtPath(document: unknown, path: readonly string[]): unknown {
  let current: unknown = document;
  for (const segment of path) {
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(segment)) return undefined;
      const raw = Number.parseInt(segment.trim(), 10);
      const index = raw < 0 ? current.length + raw : raw;
      if (index < 0 || index >= current.length) return undefined;
      current = current[index] as unknown;
    } else if (current !== null && typeof current === 'object') {
      if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
      current = (current as Record<string, unknown>)[segment];
    } else {
      return undefined;
    }
  }
  return current;
}
