import { randomUUID } from 'node:crypto';
import { FieldProblem } from '../common/validation';
import { bytesOver, JsonObject, MessageTexts, serializeMessage, withKeyAppended } from './message-json';
import { messageProblems } from './message-validation';
import { InvalidMessagesError, MessageTooLargeError } from './tracking.errors';
import { isIsoTimestamp } from './tracking-fields';
import { MESSAGE_TYPES, MessageType } from './tracking.dto';

export const MAX_MESSAGE_BYTES = 32 * 1024;
export const MAX_BATCH_MESSAGES = 2_500;

/** What the request itself tells about its messages. */
export interface RequestMeta {
  receivedAt: Date;
  ip?: string;
}

/** A validated message in the shape it is stored in. */
export interface NormalizedMessage {
  type: MessageType;
  messageId: string;
  userId: string | null;
  anonymousId: string | null;
  name: string | null;
  properties: JsonObject;
  traits: JsonObject | null;
  context: JsonObject;
  integrations: JsonObject | null;
  timestamp: Date;
  originalTimestamp: Date | null;
  sentAt: Date | null;
  receivedAt: Date;
  groupId: string | null;
  previousId: string | null;
  /** The stored JSON columns as JSON text (null for SQL NULL). */
  json: StoredJson;
}

export interface StoredJson {
  properties: string;
  traits: string | null;
  context: string;
  integrations: string | null;
}

/** Defaults a batch gives all its messages. */
interface BatchDefaults {
  context?: JsonObject;
  integrations?: JsonObject;
  integrationsJson?: string;
  sentAt?: string;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Browser libraries post JSON as text/plain to avoid a CORS preflight. */
export function bodyObject(body: unknown): JsonObject {
  let parsed = body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      parsed = JSON.parse(body.toString());
    } catch {
      throw new InvalidMessagesError([{ field: 'body', reason: 'is not valid JSON' }]);
    }
  }
  if (!isJsonObject(parsed)) throw new InvalidMessagesError([{ field: 'body', reason: 'must be a JSON object' }]);
  return parsed;
}

/** Validates and normalizes the body of `/v1/<type>`. */
export function singleMessage(type: MessageType, body: JsonObject, meta: RequestMeta): NormalizedMessage {
  const serialized = serializeMessage(body);
  const tooLarge = sizeProblem(body, serialized.length, 'body');
  if (tooLarge) throw new MessageTooLargeError([tooLarge]);
  const problems = messageProblems(type, body, '');
  if (problems.length > 0) throw new InvalidMessagesError(problems);
  return normalize(type, body, serialized.texts, {}, meta);
}

/** Validates and normalizes the body of `/v1/batch`; one bad message rejects the whole batch. */
export function batchMessages(body: JsonObject, meta: RequestMeta): NormalizedMessage[] {
  const { batch } = body;
  const defaults = batchDefaults(body);
  if (!Array.isArray(batch))
    throw new InvalidMessagesError([{ field: 'batch', reason: 'must be an array of messages' }]);
  if (batch.length === 0)
    throw new InvalidMessagesError([{ field: 'batch', reason: 'must contain at least 1 message' }]);
  if (batch.length > MAX_BATCH_MESSAGES) {
    throw new InvalidMessagesError([{ field: 'batch', reason: `must contain at most ${MAX_BATCH_MESSAGES} messages` }]);
  }
  const problems: FieldProblem[] = [];
  const tooLarge: FieldProblem[] = [];
  const texts: MessageTexts[] = [];
  batch.forEach((item: unknown, index) => {
    const field = `batch[${index}]`;
    if (!isJsonObject(item)) {
      problems.push({ field, reason: 'must be an object' });
      return;
    }
    const serialized = serializeMessage(item);
    texts[index] = serialized.texts;
    const size = sizeProblem(item, serialized.length, field);
    if (size) tooLarge.push(size);
    if (typeof item.type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(item.type)) {
      problems.push({ field: `${field}.type`, reason: `must be one of ${MESSAGE_TYPES.join(', ')}` });
      return;
    }
    problems.push(...messageProblems(item.type as MessageType, item, field));
  });
  if (tooLarge.length > 0) throw new MessageTooLargeError(tooLarge);
  if (problems.length > 0) throw new InvalidMessagesError(problems);
  return (batch as JsonObject[]).map((item, index) =>
    normalize(item.type as MessageType, item, texts[index] ?? {}, defaults, meta),
  );
}

function batchDefaults(body: JsonObject): BatchDefaults {
  const problems: FieldProblem[] = [];
  const defaults: BatchDefaults = {};
  if (body.context !== undefined) {
    if (isJsonObject(body.context)) defaults.context = body.context;
    else problems.push({ field: 'context', reason: 'must be an object' });
  }
  if (body.integrations !== undefined) {
    if (isJsonObject(body.integrations)) {
      defaults.integrations = body.integrations;
      defaults.integrationsJson = JSON.stringify(body.integrations);
    } else problems.push({ field: 'integrations', reason: 'must be an object' });
  }
  if (body.sentAt !== undefined && body.sentAt !== null) {
    const sentAt = body.sentAt;
    if (isIsoTimestamp(sentAt)) defaults.sentAt = sentAt as string;
    else problems.push({ field: 'sentAt', reason: 'must be an ISO-8601 date-time' });
  }
  if (problems.length > 0) throw new InvalidMessagesError(problems);
  return defaults;
}

function sizeProblem(message: JsonObject, length: number, field: string): FieldProblem | undefined {
  const bytes = bytesOver(message, length, MAX_MESSAGE_BYTES);
  return bytes === undefined
    ? undefined
    : { field, reason: `is ${bytes} bytes; a message may be at most ${MAX_MESSAGE_BYTES} bytes (32 KB)` };
}

function optionalString(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function date(value: unknown): Date | null {
  return typeof value === 'string' ? new Date(value) : null;
}

/**
 * Segment's timestamps: `timestamp` is kept when given; else the device's originalTimestamp is
 * corrected for the device's clock skew, measured as sentAt against receivedAt; else receivedAt.
 */
export function eventTimestamp(
  timestamp: Date | null,
  originalTimestamp: Date | null,
  sentAt: Date | null,
  receivedAt: Date,
): Date {
  if (timestamp) return timestamp;
  if (originalTimestamp && sentAt) {
    return new Date(receivedAt.getTime() - (sentAt.getTime() - originalTimestamp.getTime()));
  }
  return originalTimestamp ?? receivedAt;
}

/** The batch's context under the message's own, and the request's IP when it names none. */
function storedContext(
  raw: JsonObject,
  texts: MessageTexts,
  defaults: BatchDefaults,
  meta: RequestMeta,
): { context: JsonObject; json: string } {
  const own = isJsonObject(raw.context) ? raw.context : undefined;
  if (defaults.context) {
    const context: JsonObject = { ...defaults.context, ...own };
    if (context.ip === undefined && meta.ip !== undefined) context.ip = meta.ip;
    return { context, json: JSON.stringify(context) };
  }
  const context: JsonObject = { ...own };
  const ownJson = (own && texts.context) ?? '{}';
  if (context.ip !== undefined || meta.ip === undefined) return { context, json: ownJson };
  context.ip = meta.ip;
  return { context, json: withKeyAppended(ownJson, 'ip', meta.ip) };
}

/**
 * RudderStack's SDKs send identify traits in `context.traits` only, Segment's at the top level:
 * both count, the top level winning, so that the stored event, the profile's traits and identity
 * resolution all see the same traits.
 */
function identifyTraits(traits: JsonObject | null, context: JsonObject): JsonObject | null {
  const contextTraits = context.traits;
  if (!isJsonObject(contextTraits) || Object.keys(contextTraits).length === 0) return traits;
  return { ...contextTraits, ...traits };
}

function normalize(
  type: MessageType,
  raw: JsonObject,
  texts: MessageTexts,
  defaults: BatchDefaults,
  meta: RequestMeta,
): NormalizedMessage {
  const { context, json: contextJson } = storedContext(raw, texts, defaults, meta);
  const ownIntegrations = isJsonObject(raw.integrations);
  const integrations = ownIntegrations ? (raw.integrations as JsonObject) : (defaults.integrations ?? null);
  const integrationsJson = ownIntegrations ? (texts.integrations ?? null) : (defaults.integrationsJson ?? null);

  const originalTimestamp = date(raw.originalTimestamp);
  const sentAt = date(raw.sentAt) ?? date(defaults.sentAt);
  const given = date(raw.timestamp);
  const properties = isJsonObject(raw.properties) ? raw.properties : {};
  const traits = isJsonObject(raw.traits) ? raw.traits : null;
  const groupId = type === 'group' ? String(raw.groupId) : null;
  const previousId = type === 'alias' ? String(raw.previousId) : null;

  let name: string | null = null;
  let storedProperties = properties;
  let propertiesJson = isJsonObject(raw.properties) ? (texts.properties ?? '{}') : '{}';
  switch (type) {
    case 'track':
      name = String(raw.event);
      break;
    case 'page':
    case 'screen': {
      name = optionalString(raw.name);
      const category = optionalString(raw.category);
      if (category !== null && properties.category === undefined) {
        storedProperties = { ...properties, category };
        propertiesJson = JSON.stringify(storedProperties);
      }
      break;
    }
    case 'group':
      storedProperties = { groupId };
      propertiesJson = JSON.stringify(storedProperties);
      break;
    case 'alias':
      storedProperties = { previousId };
      propertiesJson = JSON.stringify(storedProperties);
      break;
    case 'identify':
      break;
  }

  const storedTraits = type === 'identify' ? identifyTraits(traits, context) : type === 'group' ? traits : null;
  return {
    type,
    messageId: optionalString(raw.messageId) ?? `api-${randomUUID()}`,
    userId: optionalString(raw.userId),
    anonymousId: optionalString(raw.anonymousId),
    name,
    properties: storedProperties,
    traits: storedTraits,
    context,
    integrations,
    timestamp: eventTimestamp(given, originalTimestamp, sentAt, meta.receivedAt),
    originalTimestamp: originalTimestamp ?? given,
    sentAt,
    receivedAt: meta.receivedAt,
    groupId,
    previousId,
    json: {
      properties: propertiesJson,
      traits: storedTraits
        ? ((storedTraits === traits ? texts.traits : undefined) ?? JSON.stringify(storedTraits))
        : null,
      context: contextJson,
      integrations: integrationsJson,
    },
  };
}
