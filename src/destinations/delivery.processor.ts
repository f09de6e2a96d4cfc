import { Injectable, Logger } from '@nestjs/common';
import { DelayedError, Job } from 'bullmq';

import { MetricsService } from '../ops/metrics.service';
import { deliveryIdsOf, DeliveryJob, DeliveryQueuesService, SingleDelivery } from '../queues/delivery-queues.service';
import { UnsubscribeLinks } from '../unsubscribe/unsubscribe-links';
import { readWorkspaceSettings } from '../workspace-settings/workspace-settings';
import { Batcher } from './batcher';
import { ClaimedDelivery, DeliveryRepository, FinalStatus, FinishedAttempt } from './delivery.repository';
import { claimNeedsRenewal, LEASE_MS, MAX_ATTEMPTS, RECORD_WINDOW_MS, SendOutcome } from './delivery-policy';
import { type EmailConfig, isPlainEmail, type WebhookConfig } from './destination-config';
import { buildEmail, emailTemplates, templateScope } from './email-message';
import { EmailSender } from './email-sender';
import { OutcomeRetries } from './outcome-retries';
import { SegmentSender } from './segment-sender';
import { SlackSender } from './slack-sender';
import type { SegmentConfig, SlackConfig } from './sync-config';
import { RenderAbortedError, TemplateRenderer } from './template-renderer';
import { TemplateError } from './templates';
import { BatchAttempt, TransitionBatches } from './transition-batches';
import { WebhookSender } from './webhook-sender';

/** Lets the processor pause a whole destination queue (an HTTP 429 with Retry-After). */
export type PauseQueue = (ms: number) => Promise<void>;

/** What the processor needs to know about the queue a job came from. */
export interface DeliveryQueueContext {
  destinationId: string;
  pause: PauseQueue;
  /**
   * BullMQ's limiter counts jobs, not emails: a rate-limited destination takes a batch apart into
   * one job per delivery, which the limiter then spaces out.
   */
  splitBatches: boolean;
  /** Its deliveries may be transition batches (a segment destination, see TransitionBatches). */
  transitionBatches: boolean;
}

/**
 * Claims and outcomes pending at the same moment go to Postgres in statements of up to this many
 * rows: a segment destination has up to 2,500 transitions in flight, and one statement of 1,250
 * rows costs a third of what 13 statements of 100 do (bench:sync, segment row).
 */
const ROWS_PER_STATEMENT = 1_250;

/**
 * Claims of transition batches one job takes and sends side by side (see deliverBatches): a lane
 * claims its next only when it has sent and recorded its last, so a claim's lease is spent
 * sending it.
 */
const CLAIM_LANES = 3;

/** A claim held by someone else, or a retry not yet due: the job comes back a little after this. */
const RECHECK_SLACK_MS = 500;

/** The batch rows due again (their own retry) and the rows their attempts moved transitions to. */
function batchesLater(batches: { id: string; attempt: BatchAttempt }[]): SingleDelivery[] {
  return batches.flatMap(({ id, attempt }) => [
    ...(attempt.retryAt !== undefined ? [{ id, at: attempt.retryAt }] : []),
    ...attempt.moved,
  ]);
}

/** When a claim was taken or last renewed, on the monotonic clock (read before the statement was sent). */
interface Claim {
  delivery: ClaimedDelivery;
  at: number;
}

/** Held by the workspace's frequency cap (its `wait` mode) until the person's window allows another message. */
interface CapHold {
  kind: 'held';
  until: Date;
  reason: string;
}

/** One attempt's end, and when the delivery is due again if it failed transiently or was held. */
interface Attempted {
  kind: SendOutcome['kind'] | CapHold['kind'];
  retryAt?: number;
}

/**
 * Delivery jobs: claim the rows in Postgres, decide, send, record. The row, not the job, is the
 * truth: a duplicate job, a job that outlived a crash or one re-added by the sweeper finds the row
 * claimed or finished and does nothing.
 */
@Injectable()
export class DeliveryProcessor {
  private readonly logger = new Logger(DeliveryProcessor.name);
  private readonly claims: Batcher<string, ClaimedDelivery | undefined>;
  private readonly finishes: Batcher<FinishedAttempt, boolean>;
  private readonly renewals: Batcher<ClaimedDelivery, boolean>;

  constructor(
    private readonly repository: DeliveryRepository,
    private readonly email: EmailSender,
    private readonly webhook: WebhookSender,
    private readonly segment: SegmentSender,
    private readonly slack: SlackSender,
    private readonly templates: TemplateRenderer,
    private readonly links: UnsubscribeLinks,
    private readonly metrics: MetricsService,
    private readonly queues: DeliveryQueuesService,
    private readonly batches: TransitionBatches,
    private readonly retries: OutcomeRetries,
  ) {
    this.claims = new Batcher(async (ids) => {
      const rows = await this.repository.claimMany([...new Set(ids)], LEASE_MS);
      const byId = new Map(rows.map((row) => [row.id, row]));
      // Two jobs holding the same delivery can ask for it in the same batch: the claim goes to
      // one of them only, the other finds it claimed.
      return ids.map((id) => {
        const row = byId.get(id);
        byId.delete(id);
        return row;
      });
    }, ROWS_PER_STATEMENT);
    this.finishes = new Batcher(
      async (attempts) => {
        const recorded = new Set(await this.repository.finishMany(attempts));
        return attempts.map((a) => recorded.has(a.id));
      },
      ROWS_PER_STATEMENT,
      RECORD_WINDOW_MS,
    );
    this.renewals = new Batcher(async (deliveries) => {
      const renewed = new Set(
        await this.repository.renewClaims(
          deliveries.map((d) => ({ id: d.id, attempt: d.attempts })),
          LEASE_MS,
        ),
      );
      return deliveries.map((d) => renewed.has(d.id));
    });
  }

  private finish(
    delivery: ClaimedDelivery,
    status: FinalStatus,
    detail: Omit<FinishedAttempt, 'id' | 'attempt' | 'status'>,
  ) {
    return this.finishes.call({ id: delivery.id, attempt: delivery.attempts, status, ...detail });
  }

  async process(job: Job<DeliveryJob>, token: string | undefined, context: DeliveryQueueContext): Promise<string> {
    const ids = deliveryIdsOf(job.data);
    if (!('deliveryIds' in job.data)) return this.processOne(job, token, ids[0] as string, context);
    if (context.splitBatches) {
      await this.queues.enqueueSingles(
        context.destinationId,
        ids.map((id) => ({ id })),
      );
      return `split into ${ids.length} jobs`;
    }
    return this.processBatch(ids, context);
  }

  /** A job of one delivery waits for its retry or recheck in the delayed set, as the same job. */
  private async processOne(
    job: Job<DeliveryJob>,
    token: string | undefined,
    deliveryId: string,
    context: DeliveryQueueContext,
  ): Promise<string> {
    const claimedAt = performance.now();
    const delivery = await this.claims.call(deliveryId);
    if (!delivery) {
      const [batch] = context.transitionBatches ? await this.batches.claim(context.destinationId, [deliveryId]) : [];
      if (batch) {
        const attempt = await this.batches.deliver(batch, context.pause);
        await this.queues.enqueueDueTogether(context.destinationId, attempt.moved);
        if (attempt.retryAt !== undefined) await this.delay(job, token, attempt.retryAt);
        return attempt.kind;
      }
      const [recheck] = await this.rechecks([deliveryId]);
      if (recheck?.at !== undefined) await this.delay(job, token, recheck.at);
      return recheck ? `already ${recheck.status}` : 'gone';
    }
    const { kind, retryAt } = await this.deliver({ delivery, at: claimedAt }, context.pause);
    if (retryAt !== undefined) await this.delay(job, token, retryAt);
    return kind;
  }

  /**
   * A job of several deliveries claims them in one statement and sends them side by side (the
   * SMTP pool queues them for its connections). What must be tried again later gets a job of its
   * own: the batch job itself completes.
   */
  private async processBatch(ids: string[], context: DeliveryQueueContext): Promise<string> {
    const claimedAt = performance.now();
    // A destination whose deliveries may be transition batches plans those first, and claims as
    // rows only the others: a job of batches alone (a sync's, the common case) sends no claim of
    // rows, which found none at the cost of a statement with every join of claimMany.
    const claims = context.transitionBatches ? await this.batches.plan(ids) : [];
    const planned = new Set(claims.flat());
    const rowIds = planned.size > 0 ? ids.filter((id) => !planned.has(id)) : ids;
    const batchAttempts = this.deliverBatches(claims, context);
    // Its failure is reported below with the others; this only keeps it from going unobserved
    // should the claim of the rows fail first.
    batchAttempts.catch(() => undefined);
    const claimed = await Promise.all(rowIds.map((id) => this.claims.call(id)));
    const deliveries = claimed.filter((delivery): delivery is ClaimedDelivery => delivery !== undefined);
    const claimedRows = new Set(deliveries.map((delivery) => delivery.id));
    const [rechecks, sentBatches, ...attempts] = await Promise.allSettled([
      batchAttempts.then((sent) => {
        const taken = new Set(sent.map((s) => s.id));
        const unclaimed = ids.filter((id) => !claimedRows.has(id) && !taken.has(id));
        return unclaimed.length > 0 ? this.rechecks(unclaimed) : [];
      }),
      batchAttempts,
      ...deliveries.map((delivery) => this.deliver({ delivery, at: claimedAt }, context.pause)),
    ]);
    const later: SingleDelivery[] = [];
    if (rechecks.status === 'fulfilled') later.push(...rechecks.value.filter((r) => r.at !== undefined));
    if (sentBatches.status === 'fulfilled')
      await this.queues.enqueueDueTogether(context.destinationId, batchesLater(sentBatches.value));
    const kinds = new Map<string, number>();
    attempts.forEach((attempt, i) => {
      if (attempt.status !== 'fulfilled') return;
      kinds.set(attempt.value.kind, (kinds.get(attempt.value.kind) ?? 0) + 1);
      if (attempt.value.retryAt !== undefined) later.push({ id: deliveries[i]!.id, at: attempt.value.retryAt });
    });
    await this.queues.enqueueSingles(context.destinationId, later);
    // A delivery whose outcome could not be read or written stays claimed; when the claim
    // expires, the sweeper puts it back on the queue. Failing the job says so in BullMQ.
    const failure = [rechecks, sentBatches, ...attempts].find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    const described = [...kinds].map(([kind, n]) => `${kind} ${n}`);
    if (sentBatches.status === 'fulfilled') described.push(...sentBatches.value.map((b) => `batch: ${b.attempt.kind}`));
    return described.join(', ') || 'nothing to send';
  }

  /**
   * Claims and sends transition batches as planned (TransitionBatches.plan: claims of a request's
   * worth of transitions, one big batch or many small ones whose transitions then share requests).
   * CLAIM_LANES claims are taken and sent side by side, each lane claiming its next when it has
   * recorded the last: Postgres reads one while the event loop builds another and the requests of
   * a third are on the wire.
   */
  private async deliverBatches(
    claims: string[][],
    context: DeliveryQueueContext,
  ): Promise<{ id: string; attempt: BatchAttempt }[]> {
    const results: { id: string; attempt: BatchAttempt }[] = [];
    const failures: unknown[] = [];
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < claims.length) {
        const chunk = await this.batches.claim(context.destinationId, claims[next++]!);
        const settled = await Promise.allSettled(chunk.map((batch) => this.batches.deliver(batch, context.pause)));
        settled.forEach((attempt, i) => {
          if (attempt.status === 'fulfilled') results.push({ id: chunk[i]!.id, attempt: attempt.value });
          else failures.push(attempt.reason);
        });
      }
    };
    const lanes = await Promise.allSettled(Array.from({ length: Math.min(CLAIM_LANES, claims.length) }, lane));
    for (const ended of lanes) if (ended.status === 'rejected') failures.push(ended.reason);
    // A batch whose outcome could not be recorded stays claimed until the sweeper takes it back.
    if (failures.length > 0) throw failures[0];
    return results;
  }

  /** Why rows could not be claimed decides whether, and when, to look at them again. */
  private async rechecks(deliveryIds: string[]): Promise<(SingleDelivery & { status: string })[]> {
    const states = await this.repository.states(deliveryIds);
    return states.map((state) => {
      const until =
        state.status === 'sending' ? state.claimedUntil : state.status === 'failed' ? state.nextAttemptAt : null;
      const due = state.status === 'queued' || until !== null;
      const at = due ? (until?.getTime() ?? Date.now()) + RECHECK_SLACK_MS : undefined;
      return { id: state.id, status: state.status, at };
    });
  }

  /** One attempt of a claimed delivery, its outcome recorded. */
  private async deliver(claim: Claim, pause: PauseQueue): Promise<Attempted> {
    const { delivery } = claim;
    const started = performance.now();
    const outcome = await this.attempt(claim);
    this.metrics.deliveryDuration.observe(
      { type: delivery.destinationType, outcome: outcome.kind },
      (performance.now() - started) / 1000,
    );
    return this.record(delivery, outcome, pause);
  }

  private async attempt(claim: Claim): Promise<SendOutcome | CapHold> {
    const { delivery } = claim;
    if (!delivery.connected) return { kind: 'final', status: 'skipped', error: 'disconnected' };
    if (!delivery.profileId) return { kind: 'final', status: 'skipped', error: 'the profile no longer exists' };
    switch (delivery.destinationType) {
      case 'webhook':
        return this.webhook.send(delivery, delivery.config as WebhookConfig);
      case 'segment':
        // Deliveries attempted together (a batch job's, retries due together) share requests.
        return this.segment.send(delivery, delivery.config as SegmentConfig);
      case 'slack':
        return this.slack.send(delivery, delivery.config as SlackConfig);
      case 'email':
        break;
    }
    const to = delivery.email;
    if (!to) return { kind: 'final', status: 'skipped', error: 'the profile has no email address' };
    if (!isPlainEmail(to))
      return { kind: 'final', status: 'skipped', error: 'the profile email is not a valid address' };
    if (delivery.suppression)
      return { kind: 'final', status: 'suppressed', error: `suppressed: ${delivery.suppression}` };
    const capped = delivery.capAtSend ? await this.frequencyCap(delivery) : undefined;
    if (capped) return capped;
    const config = delivery.config as EmailConfig;
    const unsubscribeUrl = this.links.url({
      workspaceId: delivery.workspaceId,
      destinationId: delivery.destinationId,
      email: to,
    });
    let rendered;
    try {
      rendered = await this.templates.render(
        delivery.destinationId,
        emailTemplates(config, delivery),
        templateScope(delivery, unsubscribeUrl),
      );
    } catch (error) {
      if (error instanceof RenderAbortedError) return { kind: 'transient', error: error.message };
      if (!(error instanceof TemplateError)) throw error;
      return { kind: 'final', status: 'dead', error: `template: ${error.message}` };
    }
    const message = buildEmail(delivery, config, to, unsubscribeUrl, rendered);
    return this.email.send(delivery.destinationId, delivery.destinationVersion, config, message, () =>
      this.holdClaim(claim),
    );
  }

  /**
   * The workspace's frequency cap (`messaging` settings) for an email about to be sent: over the
   * cap, it is skipped (`skip`: recorded as skipped, "frequency cap") or held until the oldest
   * message of the person's window leaves it (`wait`). Nothing when it may go.
   */
  private async frequencyCap(delivery: ClaimedDelivery): Promise<SendOutcome | CapHold | undefined> {
    // No cap set (the default is none): nothing to read or count, the common case of every email.
    const stored = delivery.messaging;
    if (typeof stored !== 'object' || stored === null || !('frequencyCap' in stored)) return undefined;
    const { messaging } = readWorkspaceSettings({ messaging: stored }).settings;
    if (messaging.frequencyCap <= 0 || !delivery.profileId) return undefined;
    const check = await this.repository.checkCap(
      delivery,
      delivery.profileId,
      messaging.frequencyCap,
      messaging.frequencyCapWindowHours,
    );
    if (check.passed) return undefined;
    const reason = `frequency cap: ${check.count} messages to this person within ${messaging.frequencyCapWindowHours} hours`;
    if (messaging.frequencyCapMode === 'skip') return { kind: 'final', status: 'skipped', error: reason };
    const until = new Date(check.oldest.getTime() + messaging.frequencyCapWindowHours * 3_600_000 + 1_000);
    return { kind: 'held', until, reason: `held by the ${reason}, until ${until.toISOString()}` };
  }

  /**
   * Asked when an SMTP connection is free for the email: true if the claim still outlasts an
   * attempt, renewing it first when it no longer would. False when the claim was taken over (or
   * the delivery finished elsewhere): then this attempt must not send.
   */
  private holdClaim(claim: Claim): boolean | Promise<boolean> {
    const now = performance.now();
    if (!claimNeedsRenewal(claim.at, now)) return true;
    return this.renewals.call(claim.delivery).then((renewed) => {
      this.metrics.deliveryClaimRenewals.inc({ result: renewed ? 'renewed' : 'lost' });
      if (renewed) claim.at = now;
      return renewed;
    });
  }

  private async record(
    delivery: ClaimedDelivery,
    outcome: SendOutcome | CapHold,
    pause: PauseQueue,
  ): Promise<Attempted> {
    const { id, attempts } = delivery;
    let recorded: boolean;
    let retryAt: number | undefined;
    switch (outcome.kind) {
      case 'held':
        recorded = await this.repository.holdForCap(id, attempts, outcome.reason, outcome.until);
        if (recorded) retryAt = outcome.until.getTime();
        break;
      case 'sent':
        recorded = await this.finish(delivery, 'sent', { providerMessageId: outcome.providerMessageId });
        break;
      case 'final':
        recorded = await this.finish(delivery, outcome.status, { error: outcome.error });
        break;
      case 'permanent':
        if (outcome.bounce && delivery.email)
          await this.repository.suppress(delivery.workspaceId, delivery.email, 'bounced');
        recorded = await this.finish(delivery, 'dead', { error: outcome.error });
        break;
      case 'transient': {
        if (attempts >= MAX_ATTEMPTS) {
          const error = `gave up after ${attempts} attempts: ${outcome.error}`;
          recorded = await this.finish(delivery, 'dead', { error });
          break;
        }
        const at = this.retries.retryAt(outcome, attempts);
        recorded = await this.repository.retryLater(id, attempts, outcome.error, at);
        if (!recorded) break;
        await this.retries.pauseOnce(outcome, pause);
        retryAt = at.getTime();
        break;
      }
    }
    if (!recorded) {
      // Our claim expired and another attempt took over; that attempt records the outcome.
      this.logger.warn(`delivery ${id}: attempt ${attempts} ended (${outcome.kind}) after its claim was taken over`);
    }
    return { kind: outcome.kind, retryAt };
  }

  /** Puts the job back in the delayed set until `at` (BullMQ's documented way to delay an active job). */
  private async delay(job: Job<DeliveryJob>, token: string | undefined, at: number): Promise<never> {
    await job.moveToDelayed(at, token);
    throw new DelayedError();
  }
}
