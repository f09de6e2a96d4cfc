/**
 * Reading the parts of an opaque pagination cursor (base64url of `part|part`). A client can send
 * anything as a cursor: each part is checked against what the database can hold, so a forged
 * cursor is a 400 from its decoder, never an error from Postgres.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT8_MAX = 9_223_372_036_854_775_807n;

/** The `|`-separated parts of a cursor, or undefined when it does not have `count` of them. */
export function cursorParts(cursor: string, count: number): string[] | undefined {
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  return parts.length === count ? parts : undefined;
}

/** An instant as `toISOString` writes it, within years 1-9999. */
export function cursorDate(text: string | undefined): Date | undefined {
  if (!text || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(text)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1 ? undefined : date;
}

/** A positive bigint id (Postgres int8). */
export function cursorBigInt(text: string | undefined): bigint | undefined {
  if (!text || !/^\d{1,19}$/.test(text)) return undefined;
  const value = BigInt(text);
  return value <= INT8_MAX ? value : undefined;
}

export function cursorUuid(text: string | undefined): string | undefined {
  return text && UUID.test(text) ? text : undefined;
}
