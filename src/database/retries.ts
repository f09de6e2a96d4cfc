import { setTimeout as sleep } from 'node:timers/promises';

import { postgresErrorCode } from './postgres-errors';

/**
 * A unit of work found that a concurrent one changed what it was planned against, and wrote
 * nothing: running it again from the start resolves against the new state.
 */
export class RaceLostError extends Error {}

/** Deadlocks and serialization failures are resolved by running the whole unit again. */
const RETRYABLE_CODES = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 6;

export function isRetryable(error: unknown): boolean {
  if (error instanceof RaceLostError) return true;
  const code = postgresErrorCode(error);
  return code !== undefined && RETRYABLE_CODES.has(code);
}

/**
 * Runs `work` again when it lost a race (RaceLostError, deadlock, serialization failure), after a
 * short random pause so that the racers do not collide again in lockstep.
 */
export async function withRetries<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !isRetryable(error)) throw error;
      await sleep(Math.random() * 5 * attempt);
    }
  }
}
