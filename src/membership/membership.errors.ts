import { badRequestFor } from '../common/validation';

export function invalidCursor() {
  return badRequestFor([{ field: 'cursor', reason: 'is not a cursor this API returned' }]);
}

/** The stored definition no longer validates; computing it again cannot help. */
export class AudienceDefinitionError extends Error {
  constructor(
    readonly audienceId: string,
    readonly problems: string[],
  ) {
    super(`the definition of audience ${audienceId} is invalid: ${problems.join('; ')}`);
    this.name = 'AudienceDefinitionError';
  }
}

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
