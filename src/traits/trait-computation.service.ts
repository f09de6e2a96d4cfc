import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';

import { COMPUTE_JOB_NAME, COMPUTE_JOB_OPTIONS } from '../audiences/audience-jobs';
import { storedTraitReferences } from '../audiences/audience-predicate';
import { Clock } from '../common/clock';
import type { Tx } from '../database/transactions';
import type { ComputeAudienceJob } from '../membership/membership-jobs';
import { QueueName } from '../queues/queue-names';
import { compiledTrait } from './stored-trait';
import { ComputeTraitJob } from './trait-jobs';
import { TraitSchedulesService } from './trait-schedules.service';
import { TraitRecord, TraitValuesRepository } from './trait-values.repository';
import { TraitDefinitionError } from './traits.errors';

export type TraitComputeOutcome =
  | { kind: 'skipped'; why: 'deleted' | 'missing' | 'account level' }
  | { kind: 'computed'; version: number; changed: number; valueCount: number; audiences: number };

export interface TraitEvaluateOutcome {
  traits: number;
  changed: number;
}

/**
 * Keeps computed_trait_values current: `compute` for every profile of one trait (created, edited,
 * on schedule), `evaluateProfiles` for a real-time batch of profiles against every trait of their
 * workspace, before the audiences that read them (BatchStage.ComputedState).
 */
@Injectable()
export class TraitComputationService {
  private readonly logger = new Logger(TraitComputationService.name);

  constructor(
    private readonly repository: TraitValuesRepository,
    private readonly schedules: TraitSchedulesService,
    private readonly clock: Clock,
    @InjectQueue(QueueName.Compute) private readonly audienceQueue: Queue<ComputeAudienceJob>,
  ) {}

  async compute(job: ComputeTraitJob): Promise<TraitComputeOutcome> {
    const { workspaceId, traitId, reason } = job;
    if (reason === 'deleted') {
      await this.schedules.remove(traitId);
      return { kind: 'skipped', why: 'deleted' };
    }
    const exists =
      reason === 'scheduled'
        ? (await this.repository.findTrait(workspaceId, traitId)) !== null
        : await this.repository.markComputing(workspaceId, traitId);
    if (!exists) {
      await this.schedules.remove(traitId);
      return { kind: 'skipped', why: 'missing' };
    }
    const result = await this.repository.withComputeLock(traitId, async (tx) => {
      const trait = await this.repository.findTrait(workspaceId, traitId, tx);
      if (!trait) return null;
      // Account-level traits aggregate over members; the API does not accept them yet.
      if (trait.level !== 'profile') return { trait, changed: 0, valueCount: 0, skipped: true };
      const now = this.clock.now();
      const { changed } = await this.repository.applyValues(tx, {
        traitId,
        workspaceId,
        now,
        compiled: compiledTrait(trait, now),
      });
      const valueCount = await this.repository.finishComputation(tx, traitId, now);
      return { trait, changed, valueCount, at: now.getTime(), skipped: false };
    });
    if (!result) {
      await this.schedules.remove(traitId);
      return { kind: 'skipped', why: 'missing' };
    }
    if (result.skipped) return { kind: 'skipped', why: 'account level' };
    if (reason !== 'scheduled') await this.schedules.upsert(result.trait);
    const audiences = result.changed > 0 ? await this.recomputeReaders(result.trait, this.clock.now().getTime()) : 0;
    return {
      kind: 'computed',
      version: result.trait.version,
      changed: result.changed,
      valueCount: result.valueCount,
      audiences,
    };
  }

  /**
   * A batch of changed profiles against every profile-level trait of their workspace, in one
   * transaction under every trait's lock, one set-based statement per trait. A trait whose stored
   * definition no longer validates is skipped here (its compute job records why).
   */
  async evaluateProfiles(workspaceId: string, profileIds: readonly string[]): Promise<TraitEvaluateOutcome> {
    const listed = await this.repository.listProfileTraits(workspaceId);
    if (listed.length === 0 || profileIds.length === 0) return { traits: 0, changed: 0 };
    return this.repository.withTraitLocks(
      listed.map((trait) => trait.id),
      async (tx) => {
        const now = this.clock.now();
        const outcome: TraitEvaluateOutcome = { traits: 0, changed: 0 };
        for (const trait of await this.repository.listProfileTraits(workspaceId, tx)) {
          const changed = await this.evaluateTrait(tx, trait, now, profileIds);
          if (changed === undefined) continue;
          outcome.traits += 1;
          outcome.changed += changed;
        }
        return outcome;
      },
    );
  }

  private async evaluateTrait(
    tx: Tx,
    trait: TraitRecord,
    now: Date,
    profileIds: readonly string[],
  ): Promise<number | undefined> {
    let compiled;
    try {
      compiled = compiledTrait(trait, now);
    } catch (error) {
      if (!(error instanceof TraitDefinitionError)) throw error;
      this.logger.debug(error.message);
      return undefined;
    }
    const { changed } = await this.repository.applyValues(tx, {
      traitId: trait.id,
      workspaceId: trait.workspaceId,
      now,
      compiled,
      profileIds,
    });
    return changed;
  }

  /**
   * Audiences that read the trait (`computed <key> …`) are computed again after a full computation
   * changed values. Real-time batches need not: audiences come after traits in the same batch.
   */
  private async recomputeReaders(trait: TraitRecord, atMillis: number): Promise<number> {
    const readers = (await this.repository.audienceDefinitions(trait.workspaceId)).filter((audience) =>
      storedTraitReferences(audience).includes(trait.key),
    );
    if (readers.length === 0) return 0;
    await this.audienceQueue.addBulk(
      readers.map((audience) => ({
        name: COMPUTE_JOB_NAME,
        data: { workspaceId: trait.workspaceId, audienceId: audience.id, reason: 'dependency' as const },
        opts: {
          ...COMPUTE_JOB_OPTIONS,
          jobId: `compute-${audience.id}-after-trait-${trait.id}-${atMillis}`,
          // A burst of trait changes computes a reader once more, not once per change.
          deduplication: { id: `compute-${audience.id}-dependency`, keepLastIfActive: true },
        },
      })),
    );
    return readers.length;
  }
}
