import { setTimeout as sleep } from 'node:timers/promises';

import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Queue } from 'bullmq';

import { QueueName } from '../queues/queue-names';
import { COMPUTE_SCORE_JOB_NAME, COMPUTE_SCORE_JOB_OPTIONS, ComputeScoreJob, scoreSchedulerId } from './score-jobs';
import { ScoreRecord, ScoreValuesRepository } from './score-values.repository';

const SCHEDULER_PREFIX = scoreSchedulerId('');
const RECONCILE_RETRY_MS = 2_000;

/**
 * One BullMQ job scheduler per score (`score-refresh-<id>`) produces a `scheduled` computation
 * every refresh interval: that moves windowed components (`active within 14 days`) as time passes
 * without events, and the first computation of a period records its snapshot. Postgres is the
 * truth: at worker start every score's scheduler is upserted and those of deleted scores removed.
 */
@Injectable()
export class ScoreSchedulesService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ScoreSchedulesService.name);
  private stopped = false;
  private reconciling?: Promise<void>;

  constructor(
    @InjectQueue(QueueName.ComputeScores) private readonly queue: Queue<ComputeScoreJob>,
    private readonly repository: ScoreValuesRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.reconciling = this.reconcileUntilDone();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await Promise.race([this.reconciling, sleep(RECONCILE_RETRY_MS, undefined, { ref: false })]);
  }

  /** The first run is one interval from now: creating or editing already computed the score. */
  async upsert(score: Pick<ScoreRecord, 'id' | 'workspaceId' | 'refreshIntervalSeconds'>): Promise<void> {
    const every = Math.max(1, score.refreshIntervalSeconds) * 1_000;
    await this.queue.upsertJobScheduler(
      scoreSchedulerId(score.id),
      { every, startDate: Date.now() + every },
      {
        name: COMPUTE_SCORE_JOB_NAME,
        data: { workspaceId: score.workspaceId, scoreId: score.id, reason: 'scheduled' },
        opts: COMPUTE_SCORE_JOB_OPTIONS,
      },
    );
  }

  async remove(scoreId: string): Promise<void> {
    await this.queue.removeJobScheduler(scoreSchedulerId(scoreId));
  }

  async reconcile(): Promise<{ upserted: number; removed: number }> {
    const scores = await this.repository.listAllScores();
    const known = new Set(scores.map((t) => t.id));
    for (const score of scores) await this.upsert(score);
    let removed = 0;
    for (const scheduler of await this.queue.getJobSchedulers(0, -1)) {
      const id = scheduler.id ?? scheduler.key;
      const scoreId = id.startsWith(SCHEDULER_PREFIX) ? id.slice(SCHEDULER_PREFIX.length) : undefined;
      if (scoreId !== undefined && !known.has(scoreId)) {
        await this.remove(scoreId);
        removed += 1;
      }
    }
    return { upserted: scores.length, removed };
  }

  private async reconcileUntilDone(): Promise<void> {
    while (!this.stopped) {
      try {
        const result = await this.reconcile();
        this.logger.log(`score schedules reconciled: ${result.upserted} upserted, ${result.removed} removed`);
        return;
      } catch (error) {
        this.logger.warn(`score schedule reconciliation failed, retrying: ${describe(error)}`);
        await sleep(RECONCILE_RETRY_MS);
      }
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
