import { setTimeout as sleep } from 'node:timers/promises';

import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Queue } from 'bullmq';

import { QueueName } from '../queues/queue-names';
import { COMPUTE_TRAIT_JOB_NAME, COMPUTE_TRAIT_JOB_OPTIONS, ComputeTraitJob, traitSchedulerId } from './trait-jobs';
import { TraitRecord, TraitValuesRepository } from './trait-values.repository';

const SCHEDULER_PREFIX = traitSchedulerId('');
const RECONCILE_RETRY_MS = 2_000;

/**
 * One BullMQ job scheduler per trait (`trait-refresh-<id>`) produces a `scheduled` computation
 * every refresh interval: that is what moves windowed values (`count "Login" within 7 days`,
 * `days since last "Login"`) as time passes without events. Postgres is the truth: at worker start
 * every trait's scheduler is upserted and schedulers of deleted traits are removed.
 */
@Injectable()
export class TraitSchedulesService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TraitSchedulesService.name);
  private stopped = false;
  private reconciling?: Promise<void>;

  constructor(
    @InjectQueue(QueueName.ComputeTraits) private readonly queue: Queue<ComputeTraitJob>,
    private readonly repository: TraitValuesRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.reconciling = this.reconcileUntilDone();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await Promise.race([this.reconciling, sleep(RECONCILE_RETRY_MS, undefined, { ref: false })]);
  }

  /** The first run is one interval from now: creating or editing already computed the trait. */
  async upsert(trait: Pick<TraitRecord, 'id' | 'workspaceId' | 'refreshIntervalSeconds'>): Promise<void> {
    const every = Math.max(1, trait.refreshIntervalSeconds) * 1_000;
    await this.queue.upsertJobScheduler(
      traitSchedulerId(trait.id),
      { every, startDate: Date.now() + every },
      {
        name: COMPUTE_TRAIT_JOB_NAME,
        data: { workspaceId: trait.workspaceId, traitId: trait.id, reason: 'scheduled' },
        opts: COMPUTE_TRAIT_JOB_OPTIONS,
      },
    );
  }

  async remove(traitId: string): Promise<void> {
    await this.queue.removeJobScheduler(traitSchedulerId(traitId));
  }

  async reconcile(): Promise<{ upserted: number; removed: number }> {
    const traits = await this.repository.listAllTraits();
    const known = new Set(traits.map((t) => t.id));
    for (const trait of traits) await this.upsert(trait);
    let removed = 0;
    for (const scheduler of await this.queue.getJobSchedulers(0, -1)) {
      const id = scheduler.id ?? scheduler.key;
      const traitId = id.startsWith(SCHEDULER_PREFIX) ? id.slice(SCHEDULER_PREFIX.length) : undefined;
      if (traitId !== undefined && !known.has(traitId)) {
        await this.remove(traitId);
        removed += 1;
      }
    }
    return { upserted: traits.length, removed };
  }

  private async reconcileUntilDone(): Promise<void> {
    while (!this.stopped) {
      try {
        const result = await this.reconcile();
        this.logger.log(`trait schedules reconciled: ${result.upserted} upserted, ${result.removed} removed`);
        return;
      } catch (error) {
        this.logger.warn(`trait schedule reconciliation failed, retrying: ${describe(error)}`);
        await sleep(RECONCILE_RETRY_MS);
      }
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
