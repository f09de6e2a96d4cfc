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

export function deletedJobId(audienceId: string): string {
  return `compute-${audienceId}-deleted`;
}
