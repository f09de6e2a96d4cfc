import { childPath, nestsDeeperThan } from '../common/storable-text';
import { FieldProblem } from '../common/validation';
import { bytesOver, JsonObject, serializeMessage } from './message-json';
import { MAX_MESSAGE_DEPTH, REPLACED_REASON, sanitize } from './message-sanitize';
import { messageProblems } from './message-validation';
import { parseTimestamp } from './timestamps';
import { MESSAGE_TYPES, MessageType } from './tracking.dto';
import { InvalidMessagesError } from './tracking.errors';
import { BatchDefaults, isJsonObject, normalize, NormalizedMessage, RequestMeta } from './tracking-messages';

export const MAX_MESSAGE_BYTES = 32 * 1024;
export const MAX_BATCH_MESSAGES = 2_500;

/** Why a message went to the quarantine instead of (or beside) the events: a metric label. */
export type RejectionReason = 'invalid' | 'too_large';

/** A message of the request that cannot be stored as an event. */
export interface RejectedMessage {
  index: number;
  reason: RejectionReason;
  /** The message as received, made storable (see message-sanitize.ts). */
  raw: unknown;
  errors: FieldProblem[];
  warnings: FieldProblem[];
}

/** A request's messages, read one by one: the valid ones are stored, the others quarantined. */
export interface ReadRequest {
  /** The endpoint's type for `/v1/<type>`; null for a batch, whose messages name their own. */
  type: MessageType | null;
  messages: NormalizedMessage[];
  rejected: RejectedMessage[];
  /** What a batch gives all its messages, and the request's IP: what a replay needs besides the message. */
  envelope: JsonObject;
  /** Messages in the request, valid or not. */
  count: number;
  /** Size of the messages as JSON (UTF-16 code units), for the byte rate limit. */
  bytes: number;
}

/** Reads the body of `/v1/<type>`: one message. */
export function singleMessage(type: MessageType, body: JsonObject, meta: RequestMeta): ReadRequest {
  const request = emptyRequest(type, meta);
  readMessage(request, type, body, 0, '', {}, [], meta);
  return request;
}

/** Reads the body of `/v1/batch`; a bad message is rejected alone, the others are stored. */
export function batchMessages(body: JsonObject, meta: RequestMeta): ReadRequest {
  const { batch } = body;
  if (!Array.isArray(batch))
    throw new InvalidMessagesError([{ field: 'batch', reason: 'must be an array of messages' }]);
  if (batch.length === 0)
    throw new InvalidMessagesError([{ field: 'batch', reason: 'must contain at least 1 message' }]);
  if (batch.length > MAX_BATCH_MESSAGES) {
    throw new InvalidMessagesError([{ field: 'batch', reason: `must contain at most ${MAX_BATCH_MESSAGES} messages` }]);
  }
  const request = emptyRequest(null, meta);
  const { defaults, problems, warnings } = batchDefaults(body, request.envelope);
  batch.forEach((item: unknown, index) => {
    const field = `batch[${index}]`;
    if (!isJsonObject(item)) {
      reject(request, index, 'invalid', item, [{ field, reason: 'must be an object' }], []);
      return;
    }
    const type = item.type;
    const known = typeof type === 'string' && (MESSAGE_TYPES as readonly string[]).includes(type);
    readMessage(request, known ? (type as MessageType) : undefined, item, index, field, defaults, problems, meta, [
      ...warnings,
    ]);
  });
  return request;
}

function emptyRequest(type: MessageType | null, meta: RequestMeta): ReadRequest {
  const envelope: JsonObject = {};
  if (meta.ip !== undefined) envelope.ip = meta.ip;
  return { type, messages: [], rejected: [], envelope, count: 0, bytes: 0 };
}

function reject(
  request: ReadRequest,
  index: number,
  reason: RejectionReason,
  raw: unknown,
  errors: FieldProblem[],
  warnings: FieldProblem[],
): void {
  request.count += 1;
  request.rejected.push({ index, reason, raw: sanitize(raw).value, errors, warnings });
}

/** One message: rejected, or normalized (with warnings for what was replaced). */
function readMessage(
  request: ReadRequest,
  type: MessageType | undefined,
  item: JsonObject,
  index: number,
  field: string,
  defaults: BatchDefaults,
  envelopeProblems: FieldProblem[],
  meta: RequestMeta,
  warnings: FieldProblem[] = [],
): void {
  const self = field || 'body';
  if (nestsDeeperThan(item, MAX_MESSAGE_DEPTH)) {
    const reason = `nests objects or arrays deeper than ${MAX_MESSAGE_DEPTH} levels`;
    reject(request, index, 'invalid', item, [{ field: self, reason }], warnings);
    return;
  }
  let message = item;
  let serialized = serializeMessage(message);
  if (serialized.escapes) {
    const clean = sanitize(message);
    if (clean.replaced.length > 0) {
      message = clean.value as JsonObject;
      serialized = serializeMessage(message);
      for (const path of clean.replaced) warnings.push({ field: childPath(field, path), reason: REPLACED_REASON });
    }
  }
  request.bytes += serialized.length;
  const bytes = bytesOver(message, serialized.length, MAX_MESSAGE_BYTES);
  if (bytes !== undefined) {
    const reason = `is ${bytes} bytes; a message may be at most ${MAX_MESSAGE_BYTES} bytes (32 KB)`;
    reject(request, index, 'too_large', message, [{ field: self, reason }], warnings);
    return;
  }
  if (type === undefined) {
    const reason = `must be one of ${MESSAGE_TYPES.join(', ')}`;
    reject(request, index, 'invalid', message, [{ field: childPath(field, 'type'), reason }], warnings);
    return;
  }
  const problems = messageProblems(type, message, field);
  if (envelopeProblems.length > 0 || problems.length > 0) {
    reject(request, index, 'invalid', message, [...envelopeProblems, ...problems], warnings);
    return;
  }
  request.count += 1;
  request.messages.push(normalize(type, message, serialized.texts, defaults, meta, { index, field, warnings }));
}

/** A batch's context, integrations and sentAt; problems with them make every message invalid. */
function batchDefaults(
  body: JsonObject,
  envelope: JsonObject,
): { defaults: BatchDefaults; problems: FieldProblem[]; warnings: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const warnings: FieldProblem[] = [];
  const defaults: BatchDefaults = {};
  const object = (name: 'context' | 'integrations'): JsonObject | undefined => {
    const value = body[name];
    if (value === undefined) return undefined;
    if (!isJsonObject(value)) {
      problems.push({ field: name, reason: 'must be an object' });
      return undefined;
    }
    if (nestsDeeperThan(value, MAX_MESSAGE_DEPTH - 1)) {
      problems.push({ field: name, reason: `nests objects or arrays deeper than ${MAX_MESSAGE_DEPTH} levels` });
      return undefined;
    }
    const clean = sanitize(value);
    for (const path of clean.replaced) warnings.push({ field: childPath(name, path), reason: REPLACED_REASON });
    envelope[name] = clean.value;
    return clean.value as JsonObject;
  };
  defaults.context = object('context');
  defaults.integrations = object('integrations');
  if (defaults.integrations) defaults.integrationsJson = JSON.stringify(defaults.integrations);
  if (body.sentAt !== undefined && body.sentAt !== null) {
    const sentAt = parseTimestamp(body.sentAt);
    if (sentAt) {
      defaults.sentAt = sentAt;
      envelope.sentAt = body.sentAt;
    } else problems.push({ field: 'sentAt', reason: 'must be an ISO-8601 date-time' });
  }
  return { defaults, problems, warnings };
}

/** The problems of every rejected message, each once (a batch's own problems repeat in each message). */
export function rejectedProblems(rejected: RejectedMessage[]): FieldProblem[] {
  const seen = new Set<string>();
  const problems: FieldProblem[] = [];
  for (const message of rejected) {
    for (const problem of message.errors) {
      const key = `${problem.field}\u0000${problem.reason}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push(problem);
    }
  }
  return problems;
}

/**
 * Reads one quarantined message again, for a replay: with the batch's envelope it came with, and
 * the type of the endpoint it was sent to unless it names its own.
 */
export function replayedMessage(
  type: MessageType | null,
  message: unknown,
  envelope: JsonObject,
  receivedAt: Date,
): ReadRequest {
  const meta: RequestMeta = { receivedAt };
  if (typeof envelope.ip === 'string') meta.ip = envelope.ip;
  const { defaults, problems, warnings } = batchDefaults(envelope, {});
  const request = emptyRequest(type, meta);
  if (!isJsonObject(message)) {
    reject(request, 0, 'invalid', message, [{ field: 'message', reason: 'must be an object' }], []);
    return request;
  }
  const own = message.type;
  const known = typeof own === 'string' && (MESSAGE_TYPES as readonly string[]).includes(own);
  const effective = own === undefined && type !== null ? type : known ? (own as MessageType) : undefined;
  readMessage(request, effective, message, 0, '', defaults, problems, meta, [...warnings]);
  return request;
}
