import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';

import { withTimeout } from '../common/timeout';
import { QueueName } from '../queues/queue-names';
import { EvaluateJob, evaluateWorkspaceJob } from './membership-jobs';

/** A nudge that Redis does not take within this long is dropped; the relay's sweep covers for it. */
const NUDGE_TIMEOUT_MS = 2_000;
/**
 * Adds of one process start at least this far apart: a busy API (a request every few
 * milliseconds) adds 50 times a second rather than once per request, each add a Redis script
 * (about 4 % of the API's CPU in bench:ingest); a nudge waits at most this much longer.
 */
export const NUDGE_SPACING_MS = 20;
const WARN_EVERY_MS = 30_000;

/**
 * Puts workspaces on the `evaluate` queue (at most one waiting job each, see evaluateWorkspaceJob).
 * Used by the relay's sweep, by a batch that leaves work behind, and — as a nudge — by ingestion
 * right after its commit, which is what keeps the event → entered latency low without polling.
 */
@Injectable()
export class EvaluationTrigger {
  private readonly logger = new Logger(EvaluationTrigger.name);
  private readonly pending = new Set<string>();
  private sending?: Promise<void>;
  private sequence = 0;
  private lastAddAt = 0;
  private warnedAt = 0;

  constructor(@InjectQueue(QueueName.Evaluate) private readonly queue: Queue<EvaluateJob>) {}

  async enqueue(workspaceIds: readonly string[]): Promise<void> {
    if (workspaceIds.length === 0) return;
    const now = Date.now();
    await this.queue.addBulk(
      workspaceIds.map((workspaceId) => evaluateWorkspaceJob(workspaceId, `${now}-${(this.sequence += 1)}`)),
    );
  }

  /**
   * Best effort and never awaited by the caller: a request must not fail or wait because Redis
   * does. Nudges are coalesced per process — while one add is on its way to Redis, the workspaces
   * nudged meanwhile wait and go together in the next one, which starts NUDGE_SPACING_MS after the
   * previous one at the earliest — so a busy API sends one add at a time, and every nudge is
   * followed by an add that started after it (the rows it is about are committed).
   */
  nudge(workspaceId: string): void {
    this.pending.add(workspaceId);
    this.sending ??= this.flush();
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        // Until the spacing has passed by the wall clock: a timer counts from the event loop's
        // cached time, stale by however long the current turn ran, and can fire that much early.
        for (let rest = this.spacingLeft(); rest > 0; rest = this.spacingLeft()) {
          await new Promise((resolve) => setTimeout(resolve, rest));
        }
        this.lastAddAt = Date.now();
        const workspaceIds = [...this.pending];
        this.pending.clear();
        try {
          await withTimeout(this.enqueue(workspaceIds), NUDGE_TIMEOUT_MS, 'the evaluate queue');
        } catch (error) {
          this.warn(error);
        }
      }
    } finally {
      this.sending = undefined;
    }
  }

  private spacingLeft(): number {
    return this.lastAddAt + NUDGE_SPACING_MS - Date.now();
  }

  private warn(error: unknown): void {
    if (Date.now() - this.warnedAt < WARN_EVERY_MS) return;
    this.warnedAt = Date.now();
    this.logger.warn(
      `could not queue real-time evaluation (the relay will): ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
