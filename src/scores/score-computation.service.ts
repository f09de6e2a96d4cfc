import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';

import { COMPUTE_JOB_NAME, COMPUTE_JOB_OPTIONS } from '../audiences/audience-jobs';
import { storedTraitReferences } from '../audiences/audience-predicate';
import { Clock } from '../common/clock';
import type { ComputeAudienceJob } from '../membership/membership-jobs';
import { QueueName } from '../queues/queue-names';
import { periodStart, readsScore } from './score-definition';
import { ComputeScoreJob } from './score-jobs';
import { ScoreSchedulesService } from './score-schedules.service';
import { compileScore } from './score-sql';
import { ScoreRecord, ScoreValuesRepository } from './score-values.repository';
import { ScoreDefinitionError } from './scores.errors';
import { storedPeriod, storedScoreDefinition } from './stored-score';

export type ScoreComputeOutcome =
  | { kind: 'skipped'; why: 'deleted' | 'missing' }
  | { kind: 'computed'; version: number; changed: number; valueCount: number; snapshotted: number; audiences: number };

export interface ScoreEvaluateOutcome {
  scores: number;
  changed: number;
}

/**
 * Keeps score_values current and records snapshots: `compute` for every subject of one score
 * (created, edited, on schedule, on demand), which also records the current period's snapshot if
 * it was not recorded yet; `evaluateProfiles` for a real-time batch of changed profiles (profile
 * scores of those profiles, account scores of their accounts).
 */
@Injectable()
export class ScoreComputationService {
  private readonly logger = new Logger(ScoreComputationService.name);

  constructor(
    private readonly repository: ScoreValuesRepository,
    private readonly schedules: ScoreSchedulesService,
    private readonly clock: Clock,
    @InjectQueue(QueueName.Compute) private readonly audienceQueue: Queue<ComputeAudienceJob>,
  ) {}

  async compute(job: ComputeScoreJob): Promise<ScoreComputeOutcome> {
    const { workspaceId, scoreId, reason } = job;
    if (reason === 'deleted') {
      await this.schedules.remove(scoreId);
      return { kind: 'skipped', why: 'deleted' };
    }
    const exists =
      reason === 'scheduled'
        ? (await this.repository.findScore(workspaceId, scoreId)) !== null
        : await this.repository.markComputing(workspaceId, scoreId);
    if (!exists) {
      await this.schedules.remove(scoreId);
      return { kind: 'skipped', why: 'missing' };
    }
    const result = await this.repository.withComputeLock(scoreId, async (tx) => {
      const score = await this.repository.findScore(workspaceId, scoreId, tx);
      if (!score) return null;
      const now = this.clock.now();
      const compiled = compileScore(workspaceId, score.level, storedScoreDefinition(score), now);
      const changed = await this.repository.applyValues(tx, scoreId, compiled, now);
      const snapshotted = await this.repository.snapshot(
        tx,
        scoreId,
        workspaceId,
        periodStart(now, storedPeriod(score)),
        now,
      );
      const valueCount = await this.repository.finishComputation(tx, scoreId, now);
      return { score, changed, snapshotted, valueCount, at: now.getTime() };
    });
    if (!result) {
      await this.schedules.remove(scoreId);
      return { kind: 'skipped', why: 'missing' };
    }
    if (reason !== 'scheduled') await this.schedules.upsert(result.score);
    const audiences = result.changed > 0 ? await this.recomputeReaders(result.score, result.at) : 0;
    return {
      kind: 'computed',
      version: result.score.version,
      changed: result.changed,
      valueCount: result.valueCount,
      snapshotted: result.snapshotted,
      audiences,
    };
  }

  /**
   * A real-time batch: every score of the workspace for the batch's profiles (profile level) or
   * their accounts (account level), in one transaction under every score's lock. Snapshots are
   * left to full computations. A score whose stored definition no longer validates is skipped
   * here (its compute job records why).
   */
  async evaluateProfiles(workspaceId: string, profileIds: readonly string[]): Promise<ScoreEvaluateOutcome> {
    const listed = await this.repository.listScores(workspaceId);
    if (listed.length === 0 || profileIds.length === 0) return { scores: 0, changed: 0 };
    return this.repository.withScoreLocks(
      listed.map((score) => score.id),
      async (tx) => {
        const now = this.clock.now();
        const outcome: ScoreEvaluateOutcome = { scores: 0, changed: 0 };
        let accounts: string[] | undefined;
        for (const score of await this.repository.listScores(workspaceId, tx)) {
          let definition;
          try {
            definition = storedScoreDefinition(score);
          } catch (error) {
            if (!(error instanceof ScoreDefinitionError)) throw error;
            this.logger.debug(error.message);
            continue;
          }
          if (score.level === 'account') accounts ??= await this.repository.accountsOf(workspaceId, profileIds, tx);
          const ids = score.level === 'account' ? (accounts ?? []) : profileIds;
          if (ids.length === 0) continue;
          const compiled = compileScore(workspaceId, score.level, definition, now);
          outcome.scores += 1;
          outcome.changed += await this.repository.applyValues(tx, score.id, compiled, now, ids);
        }
        return outcome;
      },
    );
  }

  /**
   * Audiences that read the score (`computed <key>`, `<key>_band`, `<key>_change_<N>d`) are
   * computed again after a full computation changed values.
   */
  private async recomputeReaders(score: ScoreRecord, atMillis: number): Promise<number> {
    const readers = (await this.repository.audienceDefinitions(score.workspaceId)).filter((audience) =>
      storedTraitReferences(audience).some((key) => readsScore(key, score.key)),
    );
    if (readers.length === 0) return 0;
    await this.audienceQueue.addBulk(
      readers.map((audience) => ({
        name: COMPUTE_JOB_NAME,
        data: { workspaceId: score.workspaceId, audienceId: audience.id, reason: 'dependency' as const },
        opts: {
          ...COMPUTE_JOB_OPTIONS,
          jobId: `compute-${audience.id}-after-score-${score.id}-${atMillis}`,
          // A burst of score changes computes a reader once more, not once per change.
          deduplication: { id: `compute-${audience.id}-dependency`, keepLastIfActive: true },
        },
      })),
    );
    return readers.length;
  }
}
