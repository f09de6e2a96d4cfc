import { randomUUID } from 'node:crypto';

import { childPath } from '../common/storable-text';
import { FieldProblem } from '../common/validation';
import { JsonObject, MessageTexts, withKeyAppended } from './message-json';
import { MAX_FUTURE_MS, parseTimestamp } from './timestamps';
import { MessageType } from './tracking.dto';
import { InvalidMessagesError } from './tracking.errors';

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
  /** Where the message stood in its request. */
  index: number;
  /** The message as received (made storable): a warning quarantines it beside its event. */
  raw: JsonObject;
  /** What was changed to store it (replaced characters, a future timestamp). */
  warnings: FieldProblem[];
}

export interface StoredJson {
  properties: string;
  traits: string | null;
  context: string;
  integrations: string | null;
}

/** Defaults a batch gives all its messages. */
export interface BatchDefaults {
  context?: JsonObject;
  integrations?: JsonObject;
  integrationsJson?: string;
  sentAt?: Date;
}

/** Where a message stood in its request, and what reading it already changed. */
export interface MessagePlace {
  index: number;
  /** `batch[3]`, or '' for the body of `/v1/<type>`. */
  field: string;
  warnings: FieldProblem[];
}

export const FUTURE_TIMESTAMP_REASON =
  'is more than 24 hours after the message was received; the event is stored at receivedAt';
const ANCIENT_TIMESTAMP_REASON = 'falls before year 1 once corrected with sentAt; the event is stored at receivedAt';
/** 0001-01-01T00:00:00Z: a skew correction (receivedAt − (sentAt − originalTimestamp)) can land before it. */
const EARLIEST_TIMESTAMP_MS = -62_135_596_800_000;

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

function optionalString(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function date(value: unknown): Date | null {
  return parseTimestamp(value) ?? null;
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

export function normalize(
  type: MessageType,
  raw: JsonObject,
  texts: MessageTexts,
  defaults: BatchDefaults,
  meta: RequestMeta,
  place: MessagePlace,
): NormalizedMessage {
  const { context, json: contextJson } = storedContext(raw, texts, defaults, meta);
  const ownIntegrations = isJsonObject(raw.integrations);
  const integrations = ownIntegrations ? (raw.integrations as JsonObject) : (defaults.integrations ?? null);
  const integrationsJson = ownIntegrations ? (texts.integrations ?? null) : (defaults.integrationsJson ?? null);

  const originalTimestamp = date(raw.originalTimestamp);
  const sentAt = date(raw.sentAt) ?? defaults.sentAt ?? null;
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
  // A clock set years ahead would pin a profile's last-seen time and traits for good.
  let timestamp = eventTimestamp(given, originalTimestamp, sentAt, meta.receivedAt);
  const tooLate = timestamp.getTime() - meta.receivedAt.getTime() > MAX_FUTURE_MS;
  if (tooLate || timestamp.getTime() < EARLIEST_TIMESTAMP_MS) {
    const field = childPath(place.field, given ? 'timestamp' : 'originalTimestamp');
    place.warnings.push({ field, reason: tooLate ? FUTURE_TIMESTAMP_REASON : ANCIENT_TIMESTAMP_REASON });
    timestamp = meta.receivedAt;
  }
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
    timestamp,
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
    index: place.index,
    raw,
    warnings: place.warnings,
  };
}
