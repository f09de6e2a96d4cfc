import { setTimeout as sleep } from 'node:timers/promises';

import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Queue } from 'bullmq';

import { COMPUTE_JOB_NAME, COMPUTE_JOB_OPTIONS, computeJobId } from '../audiences/audience-jobs';
import { QueueName } from '../queues/queue-names';
import { MembershipRepository, ScheduleRecord } from './membership.repository';
import { ComputeAudienceJob, refreshSchedulerId } from './membership-jobs';

const SCHEDULER_PREFIX = refreshSchedulerId('');
const RECONCILE_RETRY_MS = 2_000;

/**
 * One BullMQ job scheduler per audience (`refresh-<audienceId>`) produces a `scheduled` compute
 * job every refresh interval, which is what moves people in and out on time alone (`inactive 30
 * days`). Postgres is the truth: at worker start every audience's scheduler is upserted and
 * schedulers of audiences that no longer exist are removed, so a lost or flushed Redis heals itself.
 */
@Injectable()
export class AudienceSchedulesService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AudienceSchedulesService.name);
  private stopped = false;
  private reconciling?: Promise<void>;

  constructor(
    @InjectQueue(QueueName.Compute) private readonly computeQueue: Queue<ComputeAudienceJob>,
    private readonly repository: MembershipRepository,
  ) {}

  onApplicationBootstrap(): void {
    // In the background: a worker must start (and serve health checks) even while Redis is down.
    this.reconciling = this.reconcileUntilDone();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    // A reconciliation stuck on an unreachable Redis must not hold up the shutdown.
    await Promise.race([this.reconciling, sleep(RECONCILE_RETRY_MS, undefined, { ref: false })]);
  }

  /**
   * Creates the scheduler, or updates its interval. The first run is one interval from now (the
   * create/edit already triggered a computation); upserting an unchanged interval keeps the next run.
   */
  async upsert(audience: Pick<ScheduleRecord, 'id' | 'workspaceId' | 'refreshIntervalSeconds'>): Promise<void> {
    const every = Math.max(1, audience.refreshIntervalSeconds) * 1_000;
    await this.computeQueue.upsertJobScheduler(
      refreshSchedulerId(audience.id),
      { every, startDate: Date.now() + every },
      {
        name: COMPUTE_JOB_NAME,
        data: { workspaceId: audience.workspaceId, audienceId: audience.id, reason: 'scheduled' },
        opts: COMPUTE_JOB_OPTIONS,
      },
    );
  }

  async remove(audienceId: string): Promise<void> {
    await this.computeQueue.removeJobScheduler(refreshSchedulerId(audienceId));
  }

  /**
   * Makes Redis agree with Postgres: a scheduler per audience, none for deleted audiences, and a
   * compute job for audiences whose computation was requested but may have been lost (status
   * pending or computing; the job id is the version's, so a job still queued is not doubled).
   */
  async reconcile(): Promise<{ upserted: number; removed: number; requeued: number }> {
    const audiences = await this.repository.listAllSchedules();
    const known = new Set(audiences.map((a) => a.id));
    for (const audience of audiences) await this.upsert(audience);
    let removed = 0;
    const schedulers = await this.computeQueue.getJobSchedulers(0, -1);
    for (const scheduler of schedulers) {
      const id = scheduler.id ?? scheduler.key;
      const audienceId = id.startsWith(SCHEDULER_PREFIX) ? id.slice(SCHEDULER_PREFIX.length) : undefined;
      if (audienceId !== undefined && !known.has(audienceId)) {
        await this.remove(audienceId);
        removed += 1;
      }
    }
    const unfinished = audiences.filter((a) => a.status === 'pending' || a.status === 'computing');
    if (unfinished.length > 0) {
      await this.computeQueue.addBulk(
        unfinished.map((a) => ({
          name: COMPUTE_JOB_NAME,
          data: { workspaceId: a.workspaceId, audienceId: a.id, reason: 'updated' },
          opts: { ...COMPUTE_JOB_OPTIONS, jobId: computeJobId(a.id, a.version) },
        })),
      );
    }
    return { upserted: audiences.length, removed, requeued: unfinished.length };
  }

  private async reconcileUntilDone(): Promise<void> {
    while (!this.stopped) {
      try {
        const result = await this.reconcile();
        this.logger.log(
          `audience schedules reconciled: ${result.upserted} upserted, ${result.removed} removed, ${result.requeued} computations requeued`,
        );
        return;
      } catch (error) {
        this.logger.warn(
          `audience schedule reconciliation failed, retrying: ${error instanceof Error ? error.message : String(error)}`,
        );
        await sleep(RECONCILE_RETRY_MS);
      }
    }
  }
}
