import { createHash } from 'node:crypto';

import { FieldProblem } from '../common/validation';
import { JsonObject } from './message-json';
import { RejectedMessage } from './message-reader';
import { REPLACED_REASON } from './message-sanitize';
import { MAX_MESSAGE_ID_LENGTH, MessageType } from './tracking.dto';
import { QuarantineRow } from './tracking.repository';
import { NormalizedMessage } from './tracking-messages';

/** Why a message is in the quarantine: the `reason` label of personae_quarantined_messages_total. */
export type QuarantineReason = 'invalid' | 'too_large' | 'strict' | 'replaced_characters' | 'future_timestamp';

export const STRICT_REASON =
  'was not stored: another message of the request is invalid and the source validates strictly';

/** What a request quarantines, before it is written. */
export interface QuarantinePlan {
  rows: QuarantineRow[];
  /** Per row, for the metric once the rows are committed. */
  counts: { kind: QuarantineRow['kind']; reason: QuarantineReason }[];
}

/** What every row of one request shares. */
export interface QuarantineContext {
  type: MessageType | null;
  envelope: JsonObject;
  receivedAt: Date;
}

function messageIdOf(raw: unknown): string | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const id = (raw as JsonObject).messageId;
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_MESSAGE_ID_LENGTH ? id : null;
}

function row(
  context: QuarantineContext,
  kind: QuarantineRow['kind'],
  reason: QuarantineReason,
  raw: unknown,
  messageId: string | null,
  errors: FieldProblem[],
  warnings: FieldProblem[],
): QuarantineRow {
  const message = JSON.stringify(raw) ?? 'null';
  return {
    kind,
    reason,
    type: context.type,
    message_id: messageId,
    // Without a messageId, the same message sent twice is recognised by its text.
    fingerprint: messageId ?? `sha256:${createHash('sha256').update(message).digest('base64url')}`,
    message,
    envelope: JSON.stringify(context.envelope),
    errors: JSON.stringify(errors),
    warnings: JSON.stringify(warnings),
    received_at: context.receivedAt.toISOString(),
  };
}

export function emptyPlan(): QuarantinePlan {
  return { rows: [], counts: [] };
}

function add(plan: QuarantinePlan, entry: QuarantineRow, reason: QuarantineReason): void {
  plan.rows.push(entry);
  plan.counts.push({ kind: entry.kind, reason });
}

export function addRejected(plan: QuarantinePlan, context: QuarantineContext, message: RejectedMessage): void {
  const id = messageIdOf(message.raw);
  add(
    plan,
    row(context, 'rejected', message.reason, message.raw, id, message.errors, message.warnings),
    message.reason,
  );
}

/** A valid message that a strict source refuses because another message of its request is invalid. */
export function addStrictlyRefused(plan: QuarantinePlan, context: QuarantineContext, message: NormalizedMessage): void {
  const errors = [
    { field: message.index === 0 && context.type ? 'body' : `batch[${message.index}]`, reason: STRICT_REASON },
  ];
  add(
    plan,
    row(context, 'rejected', 'strict', message.raw, messageIdOf(message.raw), errors, message.warnings),
    'strict',
  );
}

/** A stored message that was changed to be stored: the row says what changed. */
export function addWarning(plan: QuarantinePlan, context: QuarantineContext, message: NormalizedMessage): void {
  if (message.warnings.length === 0) return;
  const reason = message.warnings.some((w) => w.reason === REPLACED_REASON)
    ? 'replaced_characters'
    : 'future_timestamp';
  add(plan, row(context, 'warning', reason, message.raw, message.messageId, [], message.warnings), reason);
}
