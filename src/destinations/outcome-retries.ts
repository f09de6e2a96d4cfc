import { Injectable } from '@nestjs/common';

import { backoffMs, SendOutcome } from './delivery-policy';

type Transient = Extract<SendOutcome, { kind: 'transient' }>;

/**
 * One answer can be the outcome of many deliveries: a /v1/batch request carries delivery rows and
 * transition batches alike. Whatever failed with it is retried at the same moment, so that it meets
 * again in one request, and its Retry-After pauses the destination's queue once.
 */
@Injectable()
export class OutcomeRetries {
  private readonly due = new WeakMap<SendOutcome, Date>();
  private readonly paused = new WeakSet<SendOutcome>();

  /** When what failed with this outcome is due again; `attempts` sets the backoff of the first to ask. */
  retryAt(outcome: Transient, attempts: number): Date {
    let at = this.due.get(outcome);
    if (!at) this.due.set(outcome, (at = new Date(Date.now() + (outcome.retryAfterMs ?? backoffMs(attempts)))));
    return at;
  }

  /** Pauses the queue for the outcome's Retry-After, if it has one and nothing paused for it yet. */
  async pauseOnce(outcome: SendOutcome, pause: (ms: number) => Promise<void>): Promise<void> {
    if (outcome.kind !== 'transient' || outcome.retryAfterMs === undefined || this.paused.has(outcome)) return;
    this.paused.add(outcome);
    await pause(outcome.retryAfterMs);
  }
}
