import { Injectable, Logger } from '@nestjs/common';

import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../ops/metrics.service';
import { BatchParticipants, ChangedProfiles } from './batch-participants';
import { EvaluationTrigger } from './evaluation-trigger.service';
import { BatchEvaluationError } from './membership.errors';
import { ClaimedChange, ProfileChangesRepository } from './profile-changes.repository';

/** Share of a full batch kept for the bulk lane (see ProfileChangesRepository.claim). */
const BULK_SHARE = 0.1;
/** A failed batch's rows wait this long before they are taken again. */
const RETRY_AFTER_MS = 2_000;

export interface BatchOutcome {
  workspaceId: string;
  /** Outbox rows taken (and deleted once evaluated); each holds one or more profiles. */
  changes: number;
  profiles: number;
  /** Another batch of this workspace was queued behind the other workspaces. */
  more: boolean;
  participants: Record<string, Record<string, number>>;
}

/**
 * Real-time evaluation, one batch at a time: claims up to EVALUATION_BATCH_SIZE changed profiles
 * of one workspace (live lane first) with a lease, hands them to every batch participant in stage
 * order, deletes the rows, and queues the workspace again — at the back of the queue, behind the
 * other workspaces — if more remain. A worker killed mid-batch leaves its rows claimed until the
 * lease runs out; they are then taken again and evaluated again, which changes nothing that was
 * already written (every participant is idempotent).
 */
@Injectable()
export class BatchEvaluatorService {
  private readonly logger = new Logger(BatchEvaluatorService.name);

  constructor(
    private readonly changes: ProfileChangesRepository,
    private readonly participants: BatchParticipants,
    private readonly trigger: EvaluationTrigger,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  async runBatch(workspaceId: string): Promise<BatchOutcome> {
    const limit = this.config.EVALUATION_BATCH_SIZE;
    const leaseMs = this.config.EVALUATION_LEASE_MS;
    const claimed = await this.changes.claim({
      workspaceId,
      limit,
      bulkReserve: Math.max(1, Math.floor(limit * BULK_SHARE)),
      leaseMs,
    });
    if (claimed.length === 0) return { workspaceId, changes: 0, profiles: 0, more: false, participants: {} };

    // A row's profiles share its id.
    const ids = [...new Set(claimed.map((change) => change.id))];
    const profileIds = [...new Set(claimed.map((change) => change.profileId))];
    const started = performance.now();
    // Renewed while the batch runs: a batch that waits on an audience lock behind a long full
    // computation keeps its rows; a dead worker stops renewing and its rows are retaken.
    const heartbeat = setInterval(
      () => {
        this.changes.renew(workspaceId, ids, leaseMs).catch((error: unknown) => this.logger.warn(describe(error)));
      },
      Math.max(250, Math.floor(leaseMs / 3)),
    );
    heartbeat.unref();
    let participants: BatchOutcome['participants'];
    try {
      // The claim applied the first/last seen of the profiles' events.
      participants = await this.evaluateParticipants({ workspaceId, profileIds, now: this.clock.now() });
    } catch (error) {
      await this.changes.release(workspaceId, ids, RETRY_AFTER_MS).catch(() => undefined);
      throw error;
    } finally {
      clearInterval(heartbeat);
    }
    await this.changes.complete(workspaceId, ids);
    this.record(claimed, profileIds.length, (performance.now() - started) / 1000);

    const more = claimed.length >= limit || (await this.changes.hasClaimable(workspaceId));
    if (more) await this.trigger.enqueue([workspaceId]);
    return { workspaceId, changes: ids.length, profiles: profileIds.length, more, participants };
  }

  /** Evaluates profiles not claimed from the outbox: their events' first/last seen first, then evaluateParticipants. */
  async evaluate(batch: ChangedProfiles): Promise<BatchOutcome['participants']> {
    await this.changes.applySeen({ workspaceId: batch.workspaceId, profileIds: batch.profileIds });
    return this.evaluateParticipants(batch);
  }

  /**
   * Every participant in stage order. One that fails does not stop the others (their work
   * stands); the error, naming every failure, makes the whole batch run again later.
   */
  private async evaluateParticipants(batch: ChangedProfiles): Promise<BatchOutcome['participants']> {
    const outcomes: BatchOutcome['participants'] = {};
    const failures: { participant: string; error: unknown }[] = [];
    for (const participant of this.participants.ordered()) {
      try {
        outcomes[participant.name] = await participant.evaluate(batch);
      } catch (error) {
        failures.push({ participant: participant.name, error });
      }
    }
    if (failures.length > 0) throw new BatchEvaluationError(batch.workspaceId, failures);
    return outcomes;
  }

  private record(claimed: ClaimedChange[], profiles: number, seconds: number): void {
    this.metrics.evaluatedProfiles.inc(profiles);
    this.metrics.evaluationBatchDuration.observe(seconds);
    // Wall time from the change's commit to its evaluation (not the injected clock: this is a measurement).
    const now = Date.now();
    for (const change of claimed) {
      this.metrics.evaluationDelay.observe({ lane: change.lane }, Math.max(0, now - change.createdAt.getTime()) / 1000);
    }
  }
}

function describe(error: unknown): string {
  return `renewing a batch's claim failed: ${error instanceof Error ? error.message : String(error)}`;
}
