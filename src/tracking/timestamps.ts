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

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
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
  if (year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) {
    return undefined;
  }
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
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
  const match = LENIENT.exec(value);
  return match ? fromParts(match) : undefined;
}

export function isTimestamp(value: unknown): boolean {
  return parseTimestamp(value) !== undefined;
}

/** How far past its receipt an event may claim to have happened before the claim is not believed. */
export const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;
