import { randomUUID } from 'node:crypto';
import { validateSync } from 'class-validator';
import { FieldProblem, fieldProblems } from '../common/validation';
import { InvalidMessagesError, MessageTooLargeError } from './tracking.errors';
import { isIsoTimestamp } from './tracking-fields';
import { MESSAGE_DTOS, MESSAGE_TYPES, MessageDto, MessageType } from './tracking.dto';

export const MAX_MESSAGE_BYTES = 32 * 1024;
export const MAX_BATCH_MESSAGES = 2_500;

export type JsonObject = Record<string, unknown>;

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
}

/** Defaults a batch gives all its messages. */
interface BatchDefaults {
  context?: JsonObject;
  integrations?: JsonObject;
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
  const tooLarge = sizeProblem(body, 'body');
  if (tooLarge) throw new MessageTooLargeError([tooLarge]);
  const problems = validationProblems(type, body, '');
  if (problems.length > 0) throw new InvalidMessagesError(problems);
  return normalize(type, body, {}, meta);
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
  batch.forEach((item: unknown, index) => {
    const field = `batch[${index}]`;
    if (!isJsonObject(item)) {
      problems.push({ field, reason: 'must be an object' });
      return;
    }
    const size = sizeProblem(item, field);
    if (size) tooLarge.push(size);
    if (typeof item.type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(item.type)) {
      problems.push({ field: `${field}.type`, reason: `must be one of ${MESSAGE_TYPES.join(', ')}` });
      return;
    }
    problems.push(...validationProblems(item.type as MessageType, item, field));
  });
  if (tooLarge.length > 0) throw new MessageTooLargeError(tooLarge);
  if (problems.length > 0) throw new InvalidMessagesError(problems);
  return (batch as JsonObject[]).map((item) => normalize(item.type as MessageType, item, defaults, meta));
}

function batchDefaults(body: JsonObject): BatchDefaults {
  const problems: FieldProblem[] = [];
  const defaults: BatchDefaults = {};
  if (body.context !== undefined) {
    if (isJsonObject(body.context)) defaults.context = body.context;
    else problems.push({ field: 'context', reason: 'must be an object' });
  }
  if (body.integrations !== undefined) {
    if (isJsonObject(body.integrations)) defaults.integrations = body.integrations;
    else problems.push({ field: 'integrations', reason: 'must be an object' });
  }
  if (body.sentAt !== undefined && body.sentAt !== null) {
    const sentAt = body.sentAt;
    if (isIsoTimestamp(sentAt)) defaults.sentAt = sentAt as string;
    else problems.push({ field: 'sentAt', reason: 'must be an ISO-8601 date-time' });
  }
  if (problems.length > 0) throw new InvalidMessagesError(problems);
  return defaults;
}

function sizeProblem(message: JsonObject, field: string): FieldProblem | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(message));
  return bytes > MAX_MESSAGE_BYTES
    ? { field, reason: `is ${bytes} bytes; a message may be at most ${MAX_MESSAGE_BYTES} bytes (32 KB)` }
    : undefined;
}

function validationProblems(type: MessageType, raw: JsonObject, field: string): FieldProblem[] {
  // Validate a shallow copy as the DTO (plainToInstance would deep-copy properties and context).
  const instance: MessageDto = Object.assign(new MESSAGE_DTOS[type](), raw);
  const errors = validateSync(instance, {
    forbidUnknownValues: false,
    stopAtFirstError: true,
    validationError: { target: false, value: false },
  });
  return errors.length === 0 ? [] : fieldProblems(errors, field);
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

function normalize(type: MessageType, raw: JsonObject, defaults: BatchDefaults, meta: RequestMeta): NormalizedMessage {
  const ownContext = isJsonObject(raw.context) ? raw.context : {};
  const context: JsonObject = defaults.context ? { ...defaults.context, ...ownContext } : { ...ownContext };
  if (context.ip === undefined && meta.ip !== undefined) context.ip = meta.ip;
  const integrations = isJsonObject(raw.integrations) ? raw.integrations : (defaults.integrations ?? null);

  const originalTimestamp = date(raw.originalTimestamp);
  const sentAt = date(raw.sentAt) ?? date(defaults.sentAt);
  const given = date(raw.timestamp);
  const properties = isJsonObject(raw.properties) ? raw.properties : {};
  const traits = isJsonObject(raw.traits) ? raw.traits : null;
  const groupId = type === 'group' ? String(raw.groupId) : null;
  const previousId = type === 'alias' ? String(raw.previousId) : null;

  let name: string | null = null;
  let storedProperties = properties;
  switch (type) {
    case 'track':
      name = String(raw.event);
      break;
    case 'page':
    case 'screen': {
      name = optionalString(raw.name);
      const category = optionalString(raw.category);
      if (category !== null && properties.category === undefined) storedProperties = { ...properties, category };
      break;
    }
    case 'group':
      storedProperties = { groupId };
      break;
    case 'alias':
      storedProperties = { previousId };
      break;
    case 'identify':
      break;
  }

  return {
    type,
    messageId: optionalString(raw.messageId) ?? `api-${randomUUID()}`,
    userId: optionalString(raw.userId),
    anonymousId: optionalString(raw.anonymousId),
    name,
    properties: storedProperties,
    traits: type === 'identify' || type === 'group' ? traits : null,
    context,
    integrations,
    timestamp: eventTimestamp(given, originalTimestamp, sentAt, meta.receivedAt),
    originalTimestamp: originalTimestamp ?? given,
    sentAt,
    receivedAt: meta.receivedAt,
    groupId,
    previousId,
  };
}
