import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';

import { COMPUTE_JOB_NAME, COMPUTE_JOB_OPTIONS } from '../audiences/audience-jobs';
import { storedTraitReferences } from '../audiences/audience-predicate';
import { Clock } from '../common/clock';
import type { Tx } from '../database/transactions';
import type { ComputeAudienceJob } from '../membership/membership-jobs';
import { ProfileChangesRepository } from '../membership/profile-changes.repository';
import { QueueName } from '../queues/queue-names';
import { compiledTrait, storedAccountTraitAst, storedAccountTraitReferences } from './stored-trait';
import { COMPUTE_TRAIT_JOB_NAME, COMPUTE_TRAIT_JOB_OPTIONS, ComputeTraitJob } from './trait-jobs';
import { TraitSchedulesService } from './trait-schedules.service';
import { TraitRecord, TraitValuesRepository } from './trait-values.repository';
import { TraitDefinitionError } from './traits.errors';

export type TraitComputeOutcome =
  | { kind: 'skipped'; why: 'deleted' | 'missing' }
  | { kind: 'computed'; version: number; changed: number; valueCount: number; audiences: number; traits: number };

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
    private readonly changes: ProfileChangesRepository,
    private readonly schedules: TraitSchedulesService,
    private readonly clock: Clock,
    @InjectQueue(QueueName.Compute) private readonly audienceQueue: Queue<ComputeAudienceJob>,
    @InjectQueue(QueueName.ComputeTraits) private readonly traitQueue: Queue<ComputeTraitJob>,
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
    // Pending first/last seen of the whole workspace (`days since first seen` reads them).
    await this.changes.applySeen({ workspaceId, all: true });
    const result = await this.repository.withComputeLock(traitId, async (tx) => {
      const trait = await this.repository.findTrait(workspaceId, traitId, tx);
      if (!trait) return null;
      const now = this.clock.now();
      const { changed } =
        trait.level === 'account'
          ? await this.repository.applyAccountValues(tx, {
              traitId,
              workspaceId,
              now,
              ast: storedAccountTraitAst(trait),
            })
          : await this.repository.applyValues(tx, { traitId, workspaceId, now, compiled: compiledTrait(trait, now) });
      const valueCount = await this.repository.finishComputation(tx, traitId, now);
      return { trait, changed, valueCount };
    });
    if (!result) {
      await this.schedules.remove(traitId);
      return { kind: 'skipped', why: 'missing' };
    }
    if (reason !== 'scheduled') await this.schedules.upsert(result.trait);
    const at = this.clock.now().getTime();
    const audiences = result.changed > 0 ? await this.recomputeReaders(result.trait, at) : 0;
    const traits = result.changed > 0 ? await this.recomputeReadingTraits(result.trait, at) : 0;
    return {
      kind: 'computed',
      version: result.trait.version,
      changed: result.changed,
      valueCount: result.valueCount,
      audiences,
      traits,
    };
  }

  /**
   * A batch of changed profiles against every trait of their workspace, in one transaction under
   * every trait's lock, one set-based statement per trait: profile-level traits for the batch's
   * profiles first, then account-level traits for the accounts those profiles are members of (so
   * `max computed logins_7d of members` reads the values just written). A trait whose stored
   * definition no longer validates is skipped here (its compute job records why).
   */
  async evaluateProfiles(workspaceId: string, profileIds: readonly string[]): Promise<TraitEvaluateOutcome> {
    const listed = await this.repository.listTraits(workspaceId);
    if (listed.length === 0 || profileIds.length === 0) return { traits: 0, changed: 0 };
    return this.repository.withTraitLocks(
      listed.map((trait) => trait.id),
      async (tx) => {
        const now = this.clock.now();
        const outcome: TraitEvaluateOutcome = { traits: 0, changed: 0 };
        const traits = await this.repository.listTraits(workspaceId, tx);
        const count = (changed: number | undefined): void => {
          if (changed === undefined) return;
          outcome.traits += 1;
          outcome.changed += changed;
        };
        for (const trait of traits.filter((t) => t.level === 'profile')) {
          count(await this.evaluateTrait(tx, trait, now, profileIds));
        }
        const accountTraits = traits.filter((t) => t.level === 'account');
        const accountIds =
          accountTraits.length > 0 ? await this.repository.accountsOf(tx, workspaceId, profileIds) : [];
        if (accountIds.length === 0) return outcome;
        for (const trait of accountTraits) count(await this.evaluateAccountTrait(tx, trait, now, accountIds));
        return outcome;
      },
    );
  }

  private async evaluateAccountTrait(
    tx: Tx,
    trait: TraitRecord,
    now: Date,
    accountIds: readonly string[],
  ): Promise<number | undefined> {
    let ast;
    try {
      ast = storedAccountTraitAst(trait);
    } catch (error) {
      if (!(error instanceof TraitDefinitionError)) throw error;
      this.logger.debug(error.message);
      return undefined;
    }
    const update = { traitId: trait.id, workspaceId: trait.workspaceId, now, ast, accountIds };
    return (await this.repository.applyAccountValues(tx, update)).changed;
  }

  /**
   * Account traits that read this profile trait (`max computed <key> of members`) are computed
   * again after a full computation changed its values (real-time batches evaluate them in order).
   */
  private async recomputeReadingTraits(trait: TraitRecord, atMillis: number): Promise<number> {
    if (trait.level !== 'profile') return 0;
    const readers = (await this.repository.listTraits(trait.workspaceId)).filter(
      (reader) => reader.level === 'account' && storedAccountTraitReferences(reader.definitionAst).includes(trait.key),
    );
    if (readers.length === 0) return 0;
    await this.traitQueue.addBulk(
      readers.map((reader) => ({
        name: COMPUTE_TRAIT_JOB_NAME,
        data: { workspaceId: trait.workspaceId, traitId: reader.id, reason: 'manual' as const },
        opts: {
          ...COMPUTE_TRAIT_JOB_OPTIONS,
          // Deterministic per (reader, source trait, instant): a retried job does not add it twice.
          jobId: `compute-trait-${reader.id}-after-${trait.id}-${atMillis}`,
          deduplication: { id: `compute-trait-${reader.id}-dependency`, keepLastIfActive: true },
        },
      })),
    );
    return readers.length;
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
