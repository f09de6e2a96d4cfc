/**
 * Tracking timestamps, read as leniently as Segment reads them: its own documented example
 * `2015-2-02T00:30:08.276Z` has an unpadded month, and libraries and hand-written callers send a
 * space for `T`, no seconds, or no time at all. A value without an offset is UTC. What still
 * cannot be read is refused; a date that does not exist (2024-02-30) too.
 */

const LENIENT =
  /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d+))?)?)?\s*(?:([Zz])|([+-])(\d{1,2})(?::?(\d{2}))?)?\s*$/;

/** Postgres timestamptz and every client agree on four-digit years; year 0 does not exist in Postgres. */
const MIN_YEAR = 1;
const MAX_YEAR = 9999;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

function isValid(year: number, month: number, day: number, hour: number, minute: number, second: number): boolean {
  return (
    year >= MIN_YEAR &&
    year <= MAX_YEAR &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysIn(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59
  );
}

/** The number the `count` digits at `from` spell, or -1 when one of them is not a digit. */
function digits(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i += 1) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * `YYYY-MM-DDTHH:MM:SS.sssZ`, or without the milliseconds: what libraries send (toISOString), read
 * without the regular expression, as it would read it. Null: not in that form (a year below 100
 * too, which Date.UTC would take for 19xx).
 */
function canonical(text: string): Date | undefined | null {
  const length = text.length;
  if (length !== 24 && length !== 20) return null;
  if (text[4] !== '-' || text[7] !== '-' || text[10] !== 'T' || text[13] !== ':' || text[16] !== ':') return null;
  if (text[length - 1] !== 'Z' || (length === 24 && text[19] !== '.')) return null;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  const millis = length === 24 ? digits(text, 20, 3) : 0;
  if (year < 100 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || millis < 0) return null;
  if (!isValid(year, month, day, hour, minute, second)) return undefined;
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis));
}

function fromParts(match: RegExpExecArray): Date | undefined {
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', , sign, oh = '0', om = '0'] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const offsetHours = Number(oh);
  const offsetMinutes = Number(om);
  if (!isValid(year, month, day, hour, minute, second) || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const millis = fraction ? Number(fraction.slice(0, 3).padEnd(3, '0')) : 0;
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
  const utc = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, millis));
  utc.setUTCFullYear(year);
  const offset = sign ? (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000 : 0;
  const time = utc.getTime() - offset;
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** The instant a tracking timestamp names, or undefined when it cannot be read. */
export function parseTimestamp(value: unknown): Date | undefined {
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const fast = canonical(value);
  if (fast !== null) return fast;
  const match = LENIENT.exec(value);
  return match ? fromParts(match) : undefined;
}

export function isTimestamp(value: unknown): boolean {
  return parseTimestamp(value) !== undefined;
}

/** How far past its receipt an event may claim to have happened before the claim is not believed. */
export const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;
