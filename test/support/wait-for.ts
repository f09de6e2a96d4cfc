import { timeScale } from './time-scale';

export interface WaitOptions {
  /** Deadline on a quiet machine; stretched by the load (see time-scale.ts). */
  timeoutMs?: number;
  intervalMs?: number;
  what?: string;
  /** An error from the probe that ends the wait at once (the process being waited on exited, say). */
  failOn?: (error: unknown) => boolean;
}

/**
 * Polls `probe` until it returns a value other than undefined/false. An error from the probe counts
 * as "not yet" (and is reported if the wait times out), unless `failOn` says it is final.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 15_000, intervalMs = 50, what = 'condition', failOn }: WaitOptions = {},
): Promise<T> {
  const started = Date.now();
  let scale = timeScale();
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (failOn?.(error)) throw error;
      lastError = error;
    }
    if (Date.now() - started > timeoutMs * scale) {
      // The machine may have got busier while waiting: the deadline stretches with it.
      scale = Math.max(scale, timeScale());
      if (Date.now() - started > timeoutMs * scale) {
        const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
        throw new Error(`timed out after ${Date.now() - started} ms waiting for ${what}${detail}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
