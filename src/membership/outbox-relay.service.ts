import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import { withTimeout } from '../common/timeout';
import { QueueName } from '../queues/queue-names';
import {
  EVALUATE_JOB_NAME,
  EVALUATE_JOB_OPTIONS,
  EvaluateProfileJob,
  evaluateDeduplicationId,
  evaluateJobId,
} from './membership-jobs';
import { MembershipRepository, ProfileChangeRow } from './membership.repository';

/** Outbox rows taken per transaction. */
const BATCH_SIZE = 500;
/** Idle polling interval: the bulk of the event → entered latency budget (1 s p95). */
const POLL_INTERVAL_MS = 50;
/** How long an enqueue may take before the batch is given back to Postgres. */
const ENQUEUE_TIMEOUT_MS = 5_000;
const MAX_ERROR_BACKOFF_MS = 5_000;

/**
 * Moves `profile_changes` (written by ingestion in the same transaction as the events) to the
 * `evaluate` queue. Rows are deleted in the transaction that enqueued them, and only once the
 * enqueue succeeded: with Redis down the transaction rolls back and the rows wait in Postgres.
 * Several relays (one per worker) share the table through FOR UPDATE SKIP LOCKED.
 */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OutboxRelayService.name);
  private stopped = false;
  private loop?: Promise<void>;

  constructor(
    private readonly repository: MembershipRepository,
    @InjectQueue(QueueName.Evaluate) private readonly evaluateQueue: Queue<EvaluateProfileJob>,
  ) {}

  onApplicationBootstrap(): void {
    this.loop = this.run();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** Relays one batch; returns how many outbox rows it took. */
  async relayOnce(): Promise<number> {
    if (!(await this.repository.hasProfileChanges())) return 0;
    return this.repository.drainProfileChanges(BATCH_SIZE, (rows) =>
      withTimeout(this.enqueue(rows), ENQUEUE_TIMEOUT_MS, 'the evaluate queue'),
    );
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const relayed = await this.relayOnce();
        failures = 0;
        if (relayed < BATCH_SIZE) await sleep(POLL_INTERVAL_MS);
      } catch (error) {
        // The rows are still in Postgres; try again later rather than give up on them.
        failures += 1;
        this.logger.warn(
          `relaying profile changes failed (attempt ${failures}), the rows stay queued in Postgres: ${
            error instanceof Error ? error.message : String(error)
          }`,
        );
        await sleep(Math.min(MAX_ERROR_BACKOFF_MS, 200 * 2 ** Math.min(failures, 5)));
      }
    }
  }

  /** One job per profile, named after the profile's last outbox row in this batch. */
  private async enqueue(rows: ProfileChangeRow[]): Promise<void> {
    const latest = new Map<string, ProfileChangeRow>();
    for (const row of rows) {
      const seen = latest.get(row.profileId);
      if (!seen || seen.id < row.id) latest.set(row.profileId, row);
    }
    await this.evaluateQueue.addBulk(
      [...latest.values()].map((row) => ({
        name: EVALUATE_JOB_NAME,
        data: { workspaceId: row.workspaceId, profileId: row.profileId },
        opts: {
          ...EVALUATE_JOB_OPTIONS,
          jobId: evaluateJobId(row.profileId, row.id),
          deduplication: { id: evaluateDeduplicationId(row.profileId), keepLastIfActive: true },
        },
      })),
    );
  }
}
