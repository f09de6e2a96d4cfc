import type { JobsOptions } from 'bullmq';
import type { ComputeAudienceJob as AudiencesApiComputeJob, ComputeAudienceReason } from '../audiences/audience-jobs';

/**
 * Why an audience is (re)computed: the audiences API's reasons (`created`, `updated`, `deleted`),
 * plus `scheduled` (the audience's job scheduler), `manual` (POST /api/audiences/:id/compute) and
 * `dependency` (an audience it references changed membership).
 */
export type ComputeReason = ComputeAudienceReason | 'scheduled' | 'manual' | 'dependency';

/** Payload of a `compute` job on QueueName.Compute: ids only, the worker reloads the audience. */
export interface ComputeAudienceJob extends Omit<AudiencesApiComputeJob, 'reason'> {
  reason: ComputeReason;
}

/** Payload of an `evaluate` job on QueueName.Evaluate: one profile that changed. */
export interface EvaluateProfileJob {
  workspaceId: string;
  profileId: string;
}

export const EVALUATE_JOB_NAME = 'evaluate';

export const EVALUATE_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: 1_000,
  removeOnFail: 5_000,
} satisfies JobsOptions;

/** Id of the BullMQ job scheduler that recomputes an audience every refresh interval. */
export function refreshSchedulerId(audienceId: string): string {
  return `refresh-${audienceId}`;
}

export function manualComputeJobId(audienceId: string, atMillis: number): string {
  return `compute-${audienceId}-manual-${atMillis}`;
}

export function dependencyComputeJobId(audienceId: string, changedAudienceId: string, atMillis: number): string {
  return `compute-${audienceId}-after-${changedAudienceId}-${atMillis}`;
}

/**
 * An evaluate job per batch of outbox rows of one profile: the id is unique (the last outbox row id)
 * so a finished job never blocks a later one, while the deduplication id (per profile) keeps at
 * most one waiting and one running job per profile: a burst of events evaluates once or twice.
 */
export function evaluateJobId(profileId: string, lastChangeId: bigint): string {
  return `evaluate-${profileId}-${lastChangeId}`;
}

export function evaluateDeduplicationId(profileId: string): string {
  return `evaluate-${profileId}`;
}
