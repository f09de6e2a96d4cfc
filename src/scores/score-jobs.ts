import type { JobsOptions } from 'bullmq';

/**
 * The contract between the scores API (producer) and the score computation (consumer) on the
 * BullMQ `compute-scores` queue. Ids only: the worker reloads the score from Postgres. Never rename
 * a field; add only.
 */
export const COMPUTE_SCORE_JOB_NAME = 'compute-score';

export type ComputeScoreReason = 'created' | 'updated' | 'deleted' | 'scheduled' | 'manual';

export interface ComputeScoreJob {
  workspaceId: string;
  scoreId: string;
  reason: ComputeScoreReason;
}

/**
 * Deterministic ids (no ':', BullMQ's key separator): one computation per version, so enqueueing
 * twice for a version is a no-op; one deletion job per score; a manual one per instant asked.
 */
export function computeScoreJobId(scoreId: string, version: number): string {
  return `score-${scoreId}-v${version}`;
}

/** A change of refresh interval or snapshot period keeps the version but must still run. */
export function scoreSettingsJobId(scoreId: string, version: number, atMillis: number): string {
  return `score-${scoreId}-v${version}-settings-${atMillis}`;
}

export function deletedScoreJobId(scoreId: string): string {
  return `score-${scoreId}-deleted`;
}

export function manualScoreJobId(scoreId: string, atMillis: number): string {
  return `score-${scoreId}-manual-${atMillis}`;
}

/** Id of the BullMQ job scheduler that recomputes (and snapshots) a score every refresh interval. */
export function scoreSchedulerId(scoreId: string): string {
  return `score-refresh-${scoreId}`;
}

/** A computation is one transaction: a failed attempt leaves the previous values as they were. */
export const COMPUTE_SCORE_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: 1_000,
  removeOnFail: 5_000,
} satisfies JobsOptions;
