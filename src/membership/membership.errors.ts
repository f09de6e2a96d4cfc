import { badRequestFor } from '../common/validation';

export function invalidCursor() {
  return badRequestFor([{ field: 'cursor', reason: 'is not a cursor this API returned' }]);
}

/** Defined with the audiences (explain answers it too); the engine records it as the audience's failure. */
export { AudienceDefinitionError } from '../audiences/audiences.errors';

/**
 * A statement of a full computation ran past COMPUTE_STATEMENT_TIMEOUT_MS and was stopped; the
 * audience is marked failed with this message as its reason (retrying at once would only repeat it).
 */
export class ComputationTimeoutError extends Error {
  constructor(readonly limitMs: number) {
    super(
      `computing the audience took longer than the ${limitMs / 1000} s limit (COMPUTE_STATEMENT_TIMEOUT_MS) ` +
        'and was stopped; narrow the definition (more selective conditions, shorter time windows) or raise the limit',
    );
    this.name = 'ComputationTimeoutError';
  }
}

/** Some audiences could not be evaluated for a profile; the job is retried as a whole (it is idempotent). */
export class ProfileEvaluationError extends Error {
  constructor(
    readonly profileIds: string[],
    readonly failures: { audienceId: string; error: unknown }[],
  ) {
    super(
      `evaluating ${profileIds.length} profile(s) failed for ${failures.length} audience(s): ` +
        failures
          .map((f) => `${f.audienceId}: ${f.error instanceof Error ? f.error.message : String(f.error)}`)
          .join('; '),
    );
    this.name = 'ProfileEvaluationError';
  }
}

/** Some participants of a batch failed; the batch's changes are taken again later (the others' work stands). */
export class BatchEvaluationError extends Error {
  constructor(
    readonly workspaceId: string,
    readonly failures: { participant: string; error: unknown }[],
  ) {
    super(
      `evaluating a batch of workspace ${workspaceId} failed in ${failures.map((f) => f.participant).join(', ')}: ` +
        failures.map((f) => (f.error instanceof Error ? f.error.message : String(f.error))).join('; '),
    );
    this.name = 'BatchEvaluationError';
  }
}
