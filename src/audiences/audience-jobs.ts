import type { JobsOptions } from 'bullmq';

/**
 * The contract between the audiences API (producer) and the membership engine (consumer) on the
 * BullMQ `compute` queue. Ids only: the engine reloads the audience from Postgres, so a job that
 * runs late computes the current definition. Never rename a field; add only.
 */
export const COMPUTE_JOB_NAME = 'compute';

export type ComputeAudienceReason = 'created' | 'updated' | 'deleted';

export interface ComputeAudienceJob {
  workspaceId: string;
  audienceId: string;
  reason: ComputeAudienceReason;
}

/**
 * Deterministic ids (no ':' — BullMQ uses it as a key separator): one computation per definition
 * version, so enqueueing twice for the same version is a no-op; one deletion job per audience.
 */
export function computeJobId(audienceId: string, version: number): string {
  return `compute-${audienceId}-v${version}`;
}

/**
 * A change of refresh interval alone keeps the version; the job id must still be new, or BullMQ
 * would drop the job as a duplicate of the retained one and the schedule would keep the old interval.
 */
export function intervalChangeJobId(audienceId: string, version: number, intervalSeconds: number): string {
  return `compute-${audienceId}-v${version}-every${intervalSeconds}`;
}

export function deletedJobId(audienceId: string): string {
  return `compute-${audienceId}-deleted`;
}

/**
 * Retry policy of compute jobs. A computation is one transaction, so a failed attempt leaves the
 * previous membership intact and the next attempt starts from scratch.
 */
export const COMPUTE_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: 1_000,
  removeOnFail: 5_000,
} satisfies JobsOptions;
