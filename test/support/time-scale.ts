import { availableParallelism, loadavg } from 'node:os';

/**
 * How many times longer than on a quiet machine things take right now, from the load average per
 * core (at least 1, at most MAX_SCALE); TEST_TIME_SCALE overrides it. Deadlines in tests only
 * exist to turn a hang into a clear failure, so they stretch with the load instead of failing a
 * run that is merely slow because it shares the machine.
 */
const MAX_SCALE = 10;

export function timeScale(): number {
  const forced = Number(process.env.TEST_TIME_SCALE);
  if (Number.isFinite(forced) && forced > 0) return forced;
  const perCore = (loadavg()[0] ?? 0) / availableParallelism();
  return Math.min(MAX_SCALE, Math.max(1, perCore));
}

/** `ms` stretched by the current time scale, for deadlines (never for assertions on speed). */
export function scaled(ms: number): number {
  return Math.round(ms * timeScale());
}

/** Anything with a timeout Jest reads just before running it: a test or a hook. */
export interface Timed {
  timeout?: number | null;
}

/**
 * Stretches timeouts by the current scale, each from what was asked for (hooks such as beforeEach
 * start again for every test, and must not be stretched again and again).
 */
export class TimeoutStretcher {
  private readonly asked = new WeakMap<Timed, number | null | undefined>();

  stretch(entry: Timed, defaultTimeout: number): void {
    if (!this.asked.has(entry)) this.asked.set(entry, entry.timeout);
    entry.timeout = scaled(this.asked.get(entry) || defaultTimeout);
  }
}
