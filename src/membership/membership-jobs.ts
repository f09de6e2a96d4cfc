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

/**
 * Payload of an `evaluate` job on QueueName.Evaluate: a workspace whose changed profiles wait in
 * the outbox (profile_changes). The job takes one batch of them; the rows themselves are the work.
 */
export interface EvaluateWorkspaceJob {
  workspaceId: string;
}

/** The job of versions that queued one job per profile; a worker still evaluates those after an upgrade. */
export interface LegacyEvaluateProfileJob {
  workspaceId: string;
  profileId: string;
}

export type EvaluateJob = EvaluateWorkspaceJob | LegacyEvaluateProfileJob;

export const EVALUATE_JOB_NAME = 'evaluate';

/**
 * No BullMQ retries: a failed batch gives its rows back to Postgres (after a pause) and the relay
 * queues the workspace again, so the retry comes from the source of truth.
 */
export const EVALUATE_JOB_OPTIONS = {
  attempts: 1,
  removeOnComplete: 200,
  removeOnFail: 1_000,
} satisfies JobsOptions;

/**
 * The job of one workspace's next batch. The deduplication id (per workspace) keeps at most one
 * waiting and one running job per workspace — so the queue's FIFO serves workspaces round-robin —
 * and an add while the job runs is kept for when it finishes (keepLastIfActive), so a change that
 * arrives during a batch is never left without a job. The job id only has to be unique (a finished
 * job is kept for a while under its id); the deduplication id is the deterministic key.
 */
export function evaluateWorkspaceJob(workspaceId: string, unique: string) {
  return {
    name: EVALUATE_JOB_NAME,
    data: { workspaceId } satisfies EvaluateWorkspaceJob,
    opts: {
      ...EVALUATE_JOB_OPTIONS,
      jobId: `evaluate-${workspaceId}-${unique}`,
      deduplication: { id: evaluateDeduplicationId(workspaceId), keepLastIfActive: true },
    },
  };
}

export function evaluateDeduplicationId(workspaceId: string): string {
  return `evaluate-${workspaceId}`;
}

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
