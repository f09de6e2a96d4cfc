import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';

import { dependencyLevels, dependencyOrder, directDependents } from '../audiences/audience-graph';
import { COMPUTE_JOB_NAME, COMPUTE_JOB_OPTIONS } from '../audiences/audience-jobs';
import { recipientPredicate, storedAudiencePredicate, storedBatchPredicate } from '../audiences/audience-predicate';
import type { BatchTarget } from '../audiences/language/audience-language';
import { Clock } from '../common/clock';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import { MetricsService } from '../ops/metrics.service';
import { DeliveryQueuesService, DeliveryRef } from '../queues/delivery-queues.service';
import { QueueName } from '../queues/queue-names';
import { AudienceSchedulesService } from './audience-schedules.service';
import { BatchAudience } from './batch-diff-statement';
import { AudienceDefinitionError, ProfileEvaluationError } from './membership.errors';
import { AudienceRecord, MembershipRepository, RecipientRule } from './membership.repository';
import { ComputeAudienceJob, dependencyComputeJobId } from './membership-jobs';
import { ProfileChangesRepository } from './profile-changes.repository';

export type ComputeOutcome =
  | { kind: 'skipped'; why: 'deleted' | 'missing' }
  | { kind: 'computed'; version: number; entered: number; exited: number; memberCount: number; deliveries: number };

export interface EvaluateOutcome {
  audiences: number;
  entered: number;
  exited: number;
  deliveries: number;
}

/**
 * Keeps audience_members current. Both paths diff the compiled definition's target set against
 * current members in one transaction under the audiences' advisory locks (see MembershipRepository):
 * `compute` for all profiles of one audience, `evaluateProfiles` for a batch of profiles against
 * every audience of their workspace.
 */
@Injectable()
export class MembershipService {
  private readonly logger = new Logger(MembershipService.name);

  constructor(
    private readonly repository: MembershipRepository,
    private readonly changes: ProfileChangesRepository,
    private readonly clock: Clock,
    private readonly deliveries: DeliveryQueuesService,
    private readonly schedules: AudienceSchedulesService,
    private readonly metrics: MetricsService,
    @InjectQueue(QueueName.Compute) private readonly computeQueue: Queue<ComputeAudienceJob>,
  ) {}

  async compute(job: ComputeAudienceJob): Promise<ComputeOutcome> {
    const { workspaceId, audienceId, reason } = job;
    if (reason === 'deleted') {
      await this.schedules.remove(audienceId);
      return { kind: 'skipped', why: 'deleted' };
    }
    // Background refreshes leave a ready audience ready; a new or edited definition shows `computing`.
    const quiet = reason === 'scheduled' || reason === 'dependency';
    const exists = quiet
      ? await this.repository.audienceExists(workspaceId, audienceId)
      : await this.repository.markComputing(workspaceId, audienceId);
    if (!exists) {
      await this.schedules.remove(audienceId);
      return { kind: 'skipped', why: 'missing' };
    }

    // The workspace's pending first/last seen first: every stored event then lies within its profile's.
    await this.changes.applySeen({ workspaceId, all: true });
    const result = await this.repository.withComputeLock(audienceId, async (tx) => {
      const audience = await this.repository.findAudience(workspaceId, audienceId, tx);
      if (!audience) return null;
      const now = this.clock.now();
      const diff = await this.repository.applyDiff(tx, {
        audienceId,
        workspaceId,
        version: audience.version,
        now,
        level: audience.level,
        predicate: this.predicate(audience, now),
        recipients: await this.recipients(tx, audience, now),
      });
      const memberCount = await this.repository.finishComputation(tx, audienceId, now);
      return { audience, diff, memberCount, at: now.getTime() };
    });
    if (!result) {
      await this.schedules.remove(audienceId);
      return { kind: 'skipped', why: 'missing' };
    }

    const { audience, diff, memberCount } = result;
    this.countTransitions(diff);
    if (reason !== 'scheduled') await this.schedules.upsert(audience);
    await this.deliveries.enqueue(diff.deliveries);
    if (diff.entered + diff.exited > 0) await this.enqueueDependents(audience, result.at);
    return {
      kind: 'computed',
      version: audience.version,
      entered: diff.entered,
      exited: diff.exited,
      memberCount,
      deliveries: diff.deliveries.length,
    };
  }

  private countTransitions(diff: { entered: number; exited: number }): void {
    if (diff.entered > 0) this.metrics.transitions.inc({ kind: 'entered' }, diff.entered);
    if (diff.exited > 0) this.metrics.transitions.inc({ kind: 'exited' }, diff.exited);
  }

  /**
   * Re-evaluates a batch of profiles against every audience of their workspace, in one transaction
   * under every audience's lock, at one instant. Every profile audience in ONE set-based statement
   * over the batch (see batchDiffStatement), in stages by dependency level so that `in audience`
   * sees the membership this very evaluation decides. A merged-away or erased profile is in no
   * target set, so it leaves every audience it was in. Account audiences come after (their member
   * conditions may read profile audiences) and evaluate the accounts the batch's profiles belong to
   * (a `group` call touches its profile, so it re-evaluates its account too), one statement each.
   */
  async evaluateProfiles(workspaceId: string, profileIds: string[]): Promise<EvaluateOutcome> {
    const listed = await this.repository.listWorkspaceAudiences(workspaceId);
    if (listed.length === 0 || profileIds.length === 0) return { audiences: 0, entered: 0, exited: 0, deliveries: 0 };
    let written: { outcome: EvaluateOutcome; deliveries: DeliveryRef[] };
    try {
      written = await this.repository.withAudienceLocks(
        listed.map((audience) => audience.id),
        async (tx) => {
          const now = this.clock.now();
          // Read again under the locks: the versions that decide the transitions.
          const audiences = await this.repository.listWorkspaceAudiences(workspaceId, tx);
          const outcome: EvaluateOutcome = { audiences: 0, entered: 0, exited: 0, deliveries: 0 };
          const deliveries: DeliveryRef[] = [];
          const add = (diff: { entered: number; exited: number }) => {
            outcome.entered += diff.entered;
            outcome.exited += diff.exited;
          };
          const batched = this.batchAudiences(
            audiences.filter((a) => a.level !== 'account'),
            now,
          );
          const diff = await this.repository.applyBatchDiff(tx, { workspaceId, now, profileIds, audiences: batched });
          outcome.audiences += batched.length;
          diff.byAudience.forEach(add);
          deliveries.push(...diff.deliveries);
          const accountAudiences = dependencyOrder(audiences.filter((a) => a.level === 'account'));
          const accountIds =
            accountAudiences.length > 0 ? await this.repository.accountsOf(tx, workspaceId, profileIds) : [];
          for (const audience of accountIds.length > 0 ? accountAudiences : []) {
            const predicate = this.validPredicate(audience, now);
            if (!predicate) continue;
            const accountDiff = await this.diff(tx, audience, now, predicate, accountIds);
            outcome.audiences += 1;
            add(accountDiff);
            deliveries.push(...accountDiff.deliveries);
          }
          outcome.deliveries = deliveries.length;
          return { outcome, deliveries };
        },
      );
    } catch (error) {
      // One audience's statement failed and took the transaction with it: once more with one
      // transaction per audience, so that one audience's trouble does not hold back the others.
      this.logger.warn(
        `evaluating ${profileIds.length} profiles in one transaction failed, audience by audience now: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
      return this.evaluateAudienceByAudience(workspaceId, profileIds);
    }
    // Counted once committed: a transaction that failed is evaluated again (and counted) above.
    this.countTransitions(written.outcome);
    await this.deliveries.enqueue(written.deliveries);
    return written.outcome;
  }

  /**
   * The fallback of evaluateProfiles: one transaction per audience, each under that audience's
   * lock, one statement per audience (applyDiff, the predicates in their usual form). An audience
   * that fails is reported after the others were evaluated. Being written independently of the
   * batch statement, it is also what the batches are held against in the differential test.
   */
  async evaluateAudienceByAudience(workspaceId: string, profileIds: string[]): Promise<EvaluateOutcome> {
    const audiences = dependencyOrder(await this.repository.listWorkspaceAudiences(workspaceId));
    const outcome: EvaluateOutcome = { audiences: 0, entered: 0, exited: 0, deliveries: 0 };
    const failures: { audienceId: string; error: unknown }[] = [];
    for (const listed of audiences) {
      try {
        const diff = await this.repository.withAudienceLock(listed.id, async (tx) => {
          const audience = await this.repository.findAudience(workspaceId, listed.id, tx);
          const now = this.clock.now();
          const predicate = audience ? this.validPredicate(audience, now) : undefined;
          if (!audience || !predicate) return null;
          const subjects =
            audience.level === 'account' ? await this.repository.accountsOf(tx, workspaceId, profileIds) : profileIds;
          return subjects.length > 0 ? this.diff(tx, audience, now, predicate, subjects) : null;
        });
        if (!diff) continue;
        this.countTransitions(diff);
        outcome.audiences += 1;
        outcome.entered += diff.entered;
        outcome.exited += diff.exited;
        outcome.deliveries += diff.deliveries.length;
        await this.deliveries.enqueue(diff.deliveries);
      } catch (error) {
        failures.push({ audienceId: listed.id, error });
      }
    }
    if (failures.length > 0) throw new ProfileEvaluationError(profileIds, failures);
    return outcome;
  }

  /** `subjectIds`: profiles, or accounts (group row ids) for an account audience. */
  private async diff(tx: Tx, audience: AudienceRecord, now: Date, predicate: Prisma.Sql, subjectIds: string[]) {
    return this.repository.applyDiff(tx, {
      audienceId: audience.id,
      workspaceId: audience.workspaceId,
      version: audience.version,
      now,
      level: audience.level,
      predicate,
      profileIds: subjectIds,
      recipients: await this.recipients(tx, audience, now),
    });
  }

  /** An account audience's recipient rules, compiled as of `now`; none for a profile audience. */
  private async recipients(tx: Tx, audience: AudienceRecord, now: Date): Promise<RecipientRule[] | undefined> {
    if (audience.level !== 'account') return undefined;
    const rules = await this.repository.recipientRules(tx, audience.id);
    return rules.map((rule) => ({
      destinationId: rule.destinationId,
      predicate: recipientPredicate(rule.recipients, audience.workspaceId, now),
    }));
  }

  /**
   * An invalid stored definition is recorded on the audience by its compute job (status failed);
   * it must not hold back the other audiences of every profile.
   */
  private validPredicate(audience: AudienceRecord, now: Date): Prisma.Sql | undefined {
    return this.valid(audience, () => this.predicate(audience, now));
  }

  /**
   * The profile audiences of a batch statement: their batch predicates, in stages by dependency
   * level (empty levels dropped), each stage reading the target sets of the stages before it. An
   * audience whose definition no longer validates is left out, like everywhere else.
   */
  private batchAudiences(audiences: AudienceRecord[], now: Date): BatchAudience[] {
    const targets = new Map<string, BatchTarget>();
    const batched: BatchAudience[] = [];
    let stage = 0;
    for (const level of dependencyLevels(audiences)) {
      // The audiences of earlier stages only: those of this level do not refer to each other.
      const earlier = new Map(targets);
      for (const audience of level) {
        const predicate = this.valid(audience, () => storedBatchPredicate(audience, now, earlier));
        if (!predicate) continue;
        batched.push({ audienceId: audience.id, version: audience.version, stage, predicate });
        targets.set(audience.key, { audienceId: audience.id, stage });
      }
      if (targets.size > earlier.size) stage += 1;
    }
    return batched;
  }

  private valid(audience: AudienceRecord, compile: () => Prisma.Sql): Prisma.Sql | undefined {
    try {
      return compile();
    } catch (error) {
      if (!(error instanceof AudienceDefinitionError)) throw error;
      this.logger.debug(error.message);
      return undefined;
    }
  }

  /** The same predicate as preview and explain build (validated definitions are cached per version). */
  private predicate(audience: AudienceRecord, now: Date): Prisma.Sql {
    return storedAudiencePredicate(audience, now);
  }

  /** Audiences that reference this one are computed after it; the API guarantees there is no cycle. */
  private async enqueueDependents(audience: AudienceRecord, atMillis: number): Promise<void> {
    const dependents = directDependents(
      await this.repository.listWorkspaceAudiences(audience.workspaceId),
      audience.key,
    );
    if (dependents.length === 0) return;
    await this.computeQueue.addBulk(
      dependents.map((dependent) => ({
        name: COMPUTE_JOB_NAME,
        data: { workspaceId: audience.workspaceId, audienceId: dependent.id, reason: 'dependency' as const },
        opts: {
          ...COMPUTE_JOB_OPTIONS,
          jobId: dependencyComputeJobId(dependent.id, audience.id, atMillis),
          // A burst of upstream changes computes a dependent once more, not once per change.
          deduplication: { id: `compute-${dependent.id}-dependency`, keepLastIfActive: true },
        },
      })),
    );
  }
}
