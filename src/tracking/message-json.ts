/**
 * Every message is serialized once, field by field: the lengths bound its size for the 32 KB
 * limit, and the texts of its JSON-object fields are what gets stored. Serializing it whole for
 * the limit and again for the database was the largest cost per message after validation.
 */

export type JsonObject = Record<string, unknown>;

/** Fields whose JSON text is kept for storage. */
export interface MessageTexts {
  properties?: string;
  traits?: string;
  context?: string;
  integrations?: string;
}

export interface SerializedMessage {
  texts: MessageTexts;
  /** Length of `JSON.stringify(message)` in UTF-16 code units. */
  length: number;
  /**
   * The JSON text holds a `\u` escape: JSON.stringify escapes NUL and unpaired surrogates so, and
   * little else, so only such messages need the exact (slower) check of message-sanitize.ts.
   */
  escapes: boolean;
}

function isKeptField(key: string): key is keyof MessageTexts {
  return key === 'properties' || key === 'traits' || key === 'context' || key === 'integrations';
}

/** The JSON text of the field names a message usually has, so they are not serialized for every message. */
const KEY_TEXTS = new Map(
  [
    'type',
    'messageId',
    'userId',
    'anonymousId',
    'previousId',
    'groupId',
    'event',
    'name',
    'category',
    'properties',
    'traits',
    'context',
    'integrations',
    'timestamp',
    'originalTimestamp',
    'sentAt',
    'receivedAt',
    'writeKey',
    'channel',
    'version',
    'options',
    '_metadata',
  ].map((key) => [key, JSON.stringify(key)]),
);

/** Serializes the message's fields one by one; together they are exactly `JSON.stringify(message)`. */
export function serializeMessage(message: JsonObject): SerializedMessage {
  const texts: MessageTexts = {};
  let length = 2;
  let fields = 0;
  let escapes = false;
  for (const key of Object.keys(message)) {
    const text: string | undefined = JSON.stringify(message[key]);
    if (text === undefined) continue;
    const known = KEY_TEXTS.get(key);
    const keyText = known ?? JSON.stringify(key);
    length += keyText.length + 1 + text.length + (fields > 0 ? 1 : 0);
    fields += 1;
    if (!escapes && (text.includes('\\u') || (known === undefined && keyText.includes('\\u')))) escapes = true;
    if (isKeptField(key)) texts[key] = text;
  }
  return { texts, length, escapes };
}

/**
 * Bytes of the message as UTF-8 JSON when they may exceed `limit`, else undefined. A UTF-16 code
 * unit takes at most 3 bytes, so only messages near the limit are counted exactly.
 */
export function bytesOver(message: JsonObject, length: number, limit: number): number | undefined {
  if (length * 3 <= limit) return undefined;
  const bytes = Buffer.byteLength(JSON.stringify(message));
  return bytes > limit ? bytes : undefined;
}

/** The text of `{ ...object, [key]: value }` from the text of an object that lacks `key`. */
export function withKeyAppended(objectText: string, key: string, value: unknown): string {
  const entry = `${JSON.stringify(key)}:${JSON.stringify(value)}`;
  return objectText === '{}' ? `{${entry}}` : `${objectText.slice(0, -1)},${entry}}`;
}
