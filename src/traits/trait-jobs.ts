import type { JobsOptions } from 'bullmq';

/**
 * The contract between the traits API (producer) and the trait computation (consumer) on the
 * BullMQ `compute-traits` queue. Ids only: the worker reloads the trait from Postgres, so a late
 * job computes the current definition. Never rename a field; add only.
 */
export const COMPUTE_TRAIT_JOB_NAME = 'compute-trait';

export type ComputeTraitReason = 'created' | 'updated' | 'deleted' | 'scheduled' | 'manual';

export interface ComputeTraitJob {
  workspaceId: string;
  traitId: string;
  reason: ComputeTraitReason;
}

/**
 * Deterministic ids (no ':', BullMQ's key separator): one computation per definition version, so
 * enqueueing twice for a version is a no-op; one deletion job per trait.
 */
export function computeTraitJobId(traitId: string, version: number): string {
  return `trait-${traitId}-v${version}`;
}

/** A change of refresh interval keeps the version but must still be a new job (see the audiences' twin). */
export function traitIntervalJobId(traitId: string, version: number, intervalSeconds: number): string {
  return `trait-${traitId}-v${version}-every${intervalSeconds}`;
}

export function deletedTraitJobId(traitId: string): string {
  return `trait-${traitId}-deleted`;
}

export function manualTraitJobId(traitId: string, atMillis: number): string {
  return `trait-${traitId}-manual-${atMillis}`;
}

/** Id of the BullMQ job scheduler that recomputes a trait every refresh interval (windows move). */
export function traitSchedulerId(traitId: string): string {
  return `trait-refresh-${traitId}`;
}

/** A computation is one transaction: a failed attempt leaves the previous values as they were. */
export const COMPUTE_TRAIT_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: 1_000,
  removeOnFail: 5_000,
} satisfies JobsOptions;
