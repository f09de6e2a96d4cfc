import { Injectable } from '@nestjs/common';

import { TRANSITIONS_PER_BATCH } from '../membership/batch-diff-statement';
import { MetricsService } from '../ops/metrics.service';
import type { SingleDelivery } from '../queues/delivery-queues.service';
import {
  BatchAudience,
  BatchOutcomeGroup,
  BatchTransitionRow,
  ClaimedBatchRow,
  ClaimedDelivery,
  DeliveryRepository,
} from './delivery.repository';
import { LEASE_MS, MAX_ATTEMPTS, SendOutcome } from './delivery-policy';
import { OutcomeRetries } from './outcome-retries';
import { SegmentSender } from './segment-sender';
import type { SegmentConfig } from './sync-config';

/** A claimed transition batch: the row, and one entry per transition in it (each with its `audience` set). */
export interface ClaimedBatch extends ClaimedBatchRow {
  transitions: BatchTransitionRow[];
}

/** How a batch's attempt ended: what the processor reports, when the row itself is due again, and new rows to enqueue. */
export interface BatchAttempt {
  kind: string;
  retryAt?: number;
  moved: SingleDelivery[];
}

/**
 * The key a batch transition's messageIds derive from (`<key>-identify`, `<key>-track`): fixed by
 * destination and transition, so a retry, from this row or from the row the transition moved to,
 * sends the same messageIds.
 */
export function transitionMessageKey(destinationId: string, transitionId: string): string {
  return `${destinationId}-t${transitionId}`;
}

/** A transition of a claimed batch as the message builder reads deliveries. */
export function batchTransitionDelivery(batch: ClaimedBatch, row: BatchTransitionRow): ClaimedDelivery {
  return {
    id: transitionMessageKey(batch.destinationId, row.transitionId),
    workspaceId: batch.workspaceId,
    destinationId: batch.destinationId,
    attempts: batch.attempts,
    kind: row.kind ?? 'entered',
    at: row.at ?? new Date(),
    audienceId: row.audience?.id ?? '',
    audienceKey: row.audience?.key ?? '',
    audienceName: row.audience?.name ?? '',
    destinationType: batch.destinationType,
    config: batch.config,
    destinationVersion: batch.destinationVersion,
    profileId: row.profileId,
    traits: null,
    computed: {},
    identities: row.identities,
    email: row.email,
    suppression: null,
    connected: row.audience?.connected ?? false,
    account: null,
    journey: null,
    traitChange: null,
  };
}

/**
 * Batches (in the order given) grouped into claims of up to `max` transitions each, a bigger
 * batch alone: consecutive batches share a claim while they fit.
 */
export function planClaims(batches: { id: string; transitions: number }[], max: number): string[][] {
  const claims: string[][] = [];
  let current: string[] = [];
  let transitions = 0;
  for (const batch of batches) {
    if (current.length > 0 && transitions + batch.transitions > max) {
      claims.push(current);
      current = [];
      transitions = 0;
    }
    current.push(batch.id);
    transitions += batch.transitions;
  }
  if (current.length > 0) claims.push(current);
  return claims;
}

/** The status a transition's outcome leaves it in, and when it is tried again (`retryAt` of a transient one). */
function groupOf(
  outcome: SendOutcome,
  attempts: number,
  retries: OutcomeRetries,
): Omit<BatchOutcomeGroup, 'transitionIds'> {
  switch (outcome.kind) {
    case 'sent':
      return { status: 'sent' };
    case 'final':
      return { status: outcome.status, error: outcome.error };
    case 'permanent':
      return { status: 'dead', error: outcome.error };
    case 'transient':
      if (attempts >= MAX_ATTEMPTS)
        return { status: 'dead', error: `gave up after ${attempts} attempts: ${outcome.error}` };
      return { status: 'failed', error: outcome.error, retryAt: retries.retryAt(outcome, attempts) };
  }
}

/**
 * Transition batches: a segment destination's deliveries from one membership statement, one row
 * for up to 1,250 transitions. Claimed in one statement, posted in as few /v1/batch requests as
 * the limits allow, recorded in one statement; transitions whose outcome differs from the rest's
 * move to rows of their own (a retry, a refused message), so that the row tells each one's state.
 */
@Injectable()
export class TransitionBatches {
  constructor(
    private readonly repository: DeliveryRepository,
    private readonly segment: SegmentSender,
    private readonly metrics: MetricsService,
    private readonly retries: OutcomeRetries,
  ) {}

  /**
   * Those of these deliveries that are transition batches claimable now, grouped into claims of
   * up to a request's worth of transitions each (a bigger batch alone), in id order: claims a job
   * can take side by side, since no two hold the same row. Batches due again together are planned
   * into the same claim, so they meet in one request again.
   */
  async plan(deliveryIds: string[]): Promise<string[][]> {
    return planClaims(await this.repository.claimableBatchSizes(deliveryIds), TRANSITIONS_PER_BATCH);
  }

  /**
   * Claims those of these deliveries of a destination that are transition batches and can be
   * claimed now: one planned claim, or a single batch; none when another worker holds them or
   * they are done. While it is read, the destination's last part-filled request waits for its
   * transitions (SegmentSender.claiming).
   */
  async claim(destinationId: string, deliveryIds: string[]): Promise<ClaimedBatch[]> {
    const read = this.segment.claiming(destinationId);
    let rows: BatchTransitionRow[];
    try {
      rows = await this.repository.claimTransitionBatches(deliveryIds, LEASE_MS);
    } finally {
      read();
    }
    const batches: ClaimedBatch[] = [];
    let batch: ClaimedBatch | undefined;
    let audience: BatchAudience | null = null;
    // Rows come batch by batch, each batch's first with the batch's columns, and the audience
    // with the first row of each run of one audience (claimTransitionBatches).
    for (const row of rows) {
      if (row.batch) {
        const { destinationVersion, ...own } = row.batch;
        batch = { ...own, destinationVersion: new Date(destinationVersion), transitions: [] };
        batches.push(batch);
        audience = null;
      }
      if (row.audience) audience = row.audience;
      else row.audience = audience;
      batch!.transitions.push(row);
    }
    return batches;
  }

  /** One attempt of a claimed batch, recorded; `pause` is called once for a Retry-After. */
  async deliver(batch: ClaimedBatch, pause: (ms: number) => Promise<void>): Promise<BatchAttempt> {
    const started = performance.now();
    const outcomes = await this.attempt(batch);
    // A request's answer is one outcome object for all of its transitions: grouped by object
    // first, then by what the outcome leaves them in.
    const byOutcome = new Map<SendOutcome, string[]>();
    batch.transitions.forEach((row, i) => {
      const outcome = outcomes[i]!;
      const ids = byOutcome.get(outcome);
      if (ids) ids.push(row.transitionId);
      else byOutcome.set(outcome, [row.transitionId]);
    });
    const groups = new Map<string, BatchOutcomeGroup>();
    for (const [outcome, ids] of byOutcome) {
      const group = groupOf(outcome, batch.attempts, this.retries);
      const key = `${group.status}|${group.error ?? ''}|${group.retryAt?.getTime() ?? ''}`;
      const existing = groups.get(key);
      if (existing) existing.transitionIds.push(...ids);
      else groups.set(key, { ...group, transitionIds: ids });
    }
    // What was sent stays in the row (the common case: everything), else the largest share does.
    const ordered = [...groups.values()].sort(
      (x, y) =>
        Number(y.status === 'sent') - Number(x.status === 'sent') || y.transitionIds.length - x.transitionIds.length,
    );
    const head = ordered[0]!;
    this.metrics.deliveryDuration.observe(
      { type: batch.destinationType, outcome: head.status === 'failed' ? 'transient' : head.status },
      (performance.now() - started) / 1000,
    );
    const moved = await this.repository.recordTransitionBatch(batch.id, batch.attempts, ordered);
    if (moved === null) return { kind: 'taken over', moved: [] };
    if (batch.attempts < MAX_ATTEMPTS)
      for (const outcome of byOutcome.keys()) await this.retries.pauseOnce(outcome, pause);
    return {
      kind: ordered.map((g) => `${g.status} ${g.transitionIds.length}`).join(', '),
      retryAt: head.retryAt?.getTime(),
      moved: moved
        .filter((row) => row.status === 'failed')
        .map((row) => ({ id: row.id, at: row.nextAttemptAt?.getTime() })),
    };
  }

  /** Each transition's outcome: decided without sending (gone, disconnected), or its request's answer. */
  private async attempt(batch: ClaimedBatch): Promise<SendOutcome[]> {
    const outcomes = new Array<SendOutcome>(batch.transitions.length);
    const indices: number[] = [];
    const deliveries: ClaimedDelivery[] = [];
    batch.transitions.forEach((row, index) => {
      if (row.kind === null)
        outcomes[index] = { kind: 'final', status: 'skipped', error: 'the transition no longer exists' };
      else if (!row.audience?.connected) outcomes[index] = { kind: 'final', status: 'skipped', error: 'disconnected' };
      else if (!row.profileId)
        outcomes[index] = { kind: 'final', status: 'skipped', error: 'the profile no longer exists' };
      else {
        indices.push(index);
        deliveries.push(batchTransitionDelivery(batch, row));
      }
    });
    // Through the destination's request batcher: the transitions of batches claimed at about the
    // same time (small batches of real-time evaluation, retries due together) share requests.
    const sent = await this.segment.sendMany(deliveries, batch.config as SegmentConfig);
    indices.forEach((index, i) => (outcomes[index] = sent[i]!));
    return outcomes;
  }
}
