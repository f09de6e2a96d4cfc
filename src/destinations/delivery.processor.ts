import { Injectable, Logger } from '@nestjs/common';
import { DelayedError, Job } from 'bullmq';
import type { DeliveryJob } from '../queues/delivery-queues.service';
import { UnsubscribeLinks } from '../unsubscribe/unsubscribe-links';
import { Batcher } from './batcher';
import { ClaimedDelivery, DeliveryRepository, FinalStatus, FinishedAttempt } from './delivery.repository';
import { isPlainEmail, type EmailConfig, type WebhookConfig } from './destination-config';
import { backoffMs, LEASE_MS, MAX_ATTEMPTS, SendOutcome } from './delivery-policy';
import { buildEmail } from './email-message';
import { MetricsService } from '../ops/metrics.service';
import { EmailSender } from './email-sender';
import { TemplateError } from './templates';
import { WebhookSender } from './webhook-sender';

/** Lets the processor pause a whole destination queue (an HTTP 429 with Retry-After). */
export type PauseQueue = (ms: number) => Promise<void>;

/** A claim held by someone else, or a retry not yet due: the job comes back a little after this. */
const RECHECK_SLACK_MS = 500;

/**
 * One delivery job: claim the row in Postgres, decide, send, record. The row, not the job, is the
 * truth: a duplicate job, a job that outlived a crash or one re-added by the sweeper finds the row
 * claimed or finished and does nothing.
 */
@Injectable()
export class DeliveryProcessor {
  private readonly logger = new Logger(DeliveryProcessor.name);
  private readonly claims: Batcher<string, ClaimedDelivery | undefined>;
  private readonly finishes: Batcher<FinishedAttempt, boolean>;

  constructor(
    private readonly repository: DeliveryRepository,
    private readonly email: EmailSender,
    private readonly webhook: WebhookSender,
    private readonly links: UnsubscribeLinks,
    private readonly metrics: MetricsService,
  ) {
    this.claims = new Batcher(async (ids) => {
      const rows = await this.repository.claimMany(ids, LEASE_MS);
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id));
    });
    this.finishes = new Batcher(async (attempts) => {
      const recorded = new Set(await this.repository.finishMany(attempts));
      return attempts.map((a) => recorded.has(a.id));
    });
  }

  private finish(
    delivery: ClaimedDelivery,
    status: FinalStatus,
    detail: Omit<FinishedAttempt, 'id' | 'attempt' | 'status'>,
  ) {
    return this.finishes.call({ id: delivery.id, attempt: delivery.attempts, status, ...detail });
  }

  async process(job: Job<DeliveryJob>, token: string | undefined, pause: PauseQueue): Promise<string> {
    const { deliveryId } = job.data;
    const delivery = await this.claims.call(deliveryId);
    if (!delivery) return this.unclaimable(job, token, deliveryId);
    const started = performance.now();
    const outcome = await this.attempt(delivery);
    this.metrics.deliveryDuration.observe(
      { type: delivery.destinationType, outcome: outcome.kind },
      (performance.now() - started) / 1000,
    );
    return this.record(job, token, delivery, outcome, pause);
  }

  /** Why the row could not be claimed decides what becomes of the job. */
  private async unclaimable(job: Job<DeliveryJob>, token: string | undefined, deliveryId: string): Promise<string> {
    const state = await this.repository.state(deliveryId);
    if (!state) return 'gone';
    const until =
      state.status === 'sending' ? state.claimedUntil : state.status === 'failed' ? state.nextAttemptAt : null;
    if (state.status === 'queued' || until) {
      await this.delay(job, token, (until?.getTime() ?? Date.now()) + RECHECK_SLACK_MS);
    }
    return `already ${state.status}`;
  }

  private async attempt(delivery: ClaimedDelivery): Promise<SendOutcome> {
    if (!delivery.connected) return { kind: 'final', status: 'skipped', error: 'disconnected' };
    if (!delivery.profileId) return { kind: 'final', status: 'skipped', error: 'the profile no longer exists' };
    if (delivery.destinationType === 'webhook') {
      return this.webhook.send(delivery, delivery.config as WebhookConfig);
    }
    const to = delivery.email;
    if (!to) return { kind: 'final', status: 'skipped', error: 'the profile has no email address' };
    if (!isPlainEmail(to))
      return { kind: 'final', status: 'skipped', error: 'the profile email is not a valid address' };
    if (delivery.suppression)
      return { kind: 'final', status: 'suppressed', error: `suppressed: ${delivery.suppression}` };
    const config = delivery.config as EmailConfig;
    const unsubscribeUrl = this.links.url({
      workspaceId: delivery.workspaceId,
      destinationId: delivery.destinationId,
      email: to,
    });
    let message;
    try {
      message = await buildEmail(delivery, config, to, unsubscribeUrl);
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      return { kind: 'final', status: 'dead', error: `template: ${error.message}` };
    }
    return this.email.send(delivery.destinationId, delivery.destinationVersion, config, message);
  }

  private async record(
    job: Job<DeliveryJob>,
    token: string | undefined,
    delivery: ClaimedDelivery,
    outcome: SendOutcome,
    pause: PauseQueue,
  ): Promise<string> {
    const { id, attempts } = delivery;
    let recorded: boolean;
    switch (outcome.kind) {
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
        const wait = outcome.retryAfterMs ?? backoffMs(attempts);
        const retryAt = new Date(Date.now() + wait);
        recorded = await this.repository.retryLater(id, attempts, outcome.error, retryAt);
        if (!recorded) break;
        if (outcome.retryAfterMs !== undefined) await pause(outcome.retryAfterMs);
        await this.delay(job, token, retryAt.getTime());
        break;
      }
    }
    if (!recorded) {
      // Our claim expired and another attempt took over; that attempt records the outcome.
      this.logger.warn(`delivery ${id}: attempt ${attempts} ended (${outcome.kind}) after its claim was taken over`);
    }
    return outcome.kind;
  }

  /** Puts the job back in the delayed set until `at` (BullMQ's documented way to delay an active job). */
  private async delay(job: Job<DeliveryJob>, token: string | undefined, at: number): Promise<never> {
    await job.moveToDelayed(at, token);
    throw new DelayedError();
  }
}
