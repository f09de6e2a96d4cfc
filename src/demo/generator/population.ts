import { Random } from './random';

/**
 * Decides, before any event exists, how much each person will do and when: how many events
 * (so the total is exactly the requested count), whether they sign up, when they first arrive
 * and when their last visit starts. Costs a few typed arrays per profile (about 30 bytes each),
 * never the events themselves.
 */

export const SIGNUP_SHARE = 0.6;
/** A person who signs up needs a landing page, the "Signed Up" track and the identify call. */
export const MIN_EVENTS_SIGNED_UP = 3;
export const MIN_EVENTS_ANONYMOUS = 1;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Latest moment a session may start, leaving room for the session itself before `now`. */
export const LAST_SESSION_MARGIN_MS = 2 * HOUR;
/** Room kept per planned event so sessions of heavy users do not pile onto one afternoon. */
const SPAN_PER_EVENT_MS = 10 * MINUTE;

export interface PopulationOptions {
  profiles: number;
  events: number;
  seed: number;
  nowMs: number;
  windowStartMs: number;
}

export interface Population {
  readonly count: number;
  /** Events each profile will produce; sums to exactly `events`. */
  readonly budget: Uint32Array;
  readonly signsUp: Uint8Array;
  /** Start of the first visit, epoch ms. */
  readonly firstVisitAt: Float64Array;
  /** Start of the last visit, epoch ms; equals firstVisitAt for single-visit people. */
  readonly lastVisitAt: Float64Array;
  /** Profile indexes in load order (by first visit), so events land on disk roughly as they would arrive. */
  readonly order: Uint32Array;
}

/** Raised when the event count cannot give every planned profile its minimum story. */
export class TooFewEventsError extends Error {
  constructor(
    readonly events: number,
    readonly required: number,
  ) {
    super(`${events} events are too few: the planned profiles need at least ${required}`);
  }
}

const PLAN_STREAM = 0x706c616e;

export function planPopulation(options: PopulationOptions): Population {
  const { profiles: count, events } = options;
  const random = new Random(options.seed, PLAN_STREAM);
  const budget = new Uint32Array(count);
  const signsUp = new Uint8Array(count);
  const weight = new Float64Array(count);

  let minimumTotal = 0;
  let totalWeight = 0;
  for (let i = 0; i < count; i += 1) {
    const signedUp = random.chance(SIGNUP_SHARE);
    signsUp[i] = signedUp ? 1 : 0;
    // Signed-up users carry the long tail (alpha 1.25 is roughly 80/20); visitors who never sign
    // up mostly bounce after one page, a few browse a while.
    const w = signedUp ? Math.min(400, random.pareto(1.25, 1)) : random.chance(0.55) ? 0 : random.exponential(0.35);
    weight[i] = w;
    totalWeight += w;
    minimumTotal += signedUp ? MIN_EVENTS_SIGNED_UP : MIN_EVENTS_ANONYMOUS;
  }
  if (events < minimumTotal) throw new TooFewEventsError(events, minimumTotal);

  const spare = events - minimumTotal;
  let allocated = 0;
  for (let i = 0; i < count; i += 1) {
    const base = signsUp[i] === 1 ? MIN_EVENTS_SIGNED_UP : MIN_EVENTS_ANONYMOUS;
    const extra = totalWeight > 0 ? Math.floor((spare * (weight[i] ?? 0)) / totalWeight) : 0;
    budget[i] = base + extra;
    allocated += base + extra;
  }
  // Rounding leaves fewer than `count` events over; spread them evenly so the total is exact.
  const leftover = events - allocated;
  for (let j = 0; j < leftover; j += 1) {
    const index = Math.floor((j * count) / leftover);
    budget[index] = (budget[index] ?? 0) + 1;
  }

  const { firstVisitAt, lastVisitAt } = planVisits(options, random, budget);
  const order = Uint32Array.from({ length: count }, (_, i) => i).sort(
    (a, b) => (firstVisitAt[a] ?? 0) - (firstVisitAt[b] ?? 0) || a - b,
  );
  return { count, budget, signsUp, firstVisitAt, lastVisitAt, order };
}

function planVisits(
  options: PopulationOptions,
  random: Random,
  budget: Uint32Array,
): { firstVisitAt: Float64Array; lastVisitAt: Float64Array } {
  const { windowStartMs } = options;
  const latest = options.nowMs - LAST_SESSION_MARGIN_MS;
  const window = latest - windowStartMs;
  const firstVisitAt = new Float64Array(budget.length);
  const lastVisitAt = new Float64Array(budget.length);

  for (let i = 0; i < budget.length; i += 1) {
    const events = budget[i] ?? 1;
    // A growing product: arrival density rises linearly to three times its starting rate, so
    // recent months have more new people than early ones. Inverse CDF of (1 + 2x) on [0, 1].
    const x = (-1 + Math.sqrt(1 + 8 * random.float())) / 2;
    let first = windowStartMs + Math.floor(window * x);
    let last = first;
    if (events > 2) {
      // About four in ten drift away (many of them 30+ days ago); the rest are still around.
      last = random.chance(0.4) ? first + random.exponential(21 * DAY) : latest - random.exponential(4 * DAY);
      last = Math.floor(Math.min(latest, Math.max(first, last)));
      const required = (events - 1) * SPAN_PER_EVENT_MS;
      if (last - first < required) {
        last = Math.min(latest, first + required);
        first = Math.max(windowStartMs, Math.min(first, last - required));
      }
    }
    firstVisitAt[i] = first;
    lastVisitAt[i] = last;
  }
  return { firstVisitAt, lastVisitAt };
}
