/** How deliveries are attempted: claim lease, retries, backoff. One place, so the docs can point here. */

/**
 * How long a claim holds. It must outlast one attempt (SMTP timeouts below add up to less), because
 * an expired claim is what lets another worker take the delivery over after a crash.
 */
export const LEASE_MS = 30_000;

/** nodemailer timeouts: connecting, waiting for the greeting, and silence on an open socket. */
export const SMTP_TIMEOUTS = { connectionTimeout: 8_000, greetingTimeout: 8_000, socketTimeout: 12_000 } as const;

/** What one SMTP attempt may take once a connection has it: the timeouts above, added up. */
export const ATTEMPT_BUDGET_MS =
  SMTP_TIMEOUTS.connectionTimeout + SMTP_TIMEOUTS.greetingTimeout + SMTP_TIMEOUTS.socketTimeout;

/**
 * Whether a claim taken at `claimedAt` (a monotonic clock, read before the claim statement was
 * sent) may no longer outlast an attempt started at `now`. A delivery that waited that long for a
 * free SMTP connection renews its claim before it is handed over, or is not sent: past its claim
 * another worker may take it over and send it too.
 */
export function claimNeedsRenewal(claimedAt: number, now: number): boolean {
  return now - claimedAt > LEASE_MS - ATTEMPT_BUDGET_MS;
}

/**
 * Outcomes are written to Postgres in batches, at most this long after the first of a batch came
 * in: one statement for several emails, at the price of this much more time between the server's
 * `250` and the row's `sent` (the window in which a crash can still cause a resend).
 */
export const RECORD_WINDOW_MS = 20;

export const WEBHOOK_TIMEOUT_MS = 10_000;

/** Attempts before a delivery that keeps failing transiently is given up as `dead`. */
export const MAX_ATTEMPTS = 8;

const BACKOFF_BASE_MS = 2_000;
const BACKOFF_FACTOR = 4;
const BACKOFF_CAP_MS = 60 * 60 * 1000;

/**
 * Exponential backoff with "equal jitter": the n-th retry waits between half and all of
 * 2 s · 4^(n-1), capped at an hour (1–2 s, 4–8 s, 16–32 s, … about 2.5 hours over 8 attempts).
 * The jitter spreads out deliveries that failed together, so they do not hit a recovering server at once.
 */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * BACKOFF_FACTOR ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** A Retry-After header (seconds or an HTTP date), in ms from `now`, capped like the backoff. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const value = header.trim();
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), BACKOFF_CAP_MS) : undefined;
}

/** What one attempt came to, as the senders classify it. */
export type SendOutcome =
  | { kind: 'sent'; providerMessageId?: string }
  /** Worth another attempt: SMTP 4xx, connection errors, timeouts, HTTP 5xx/429/408. */
  | { kind: 'transient'; error: string; retryAfterMs?: number }
  /** Never worth retrying: SMTP 5xx, HTTP 4xx. `bounce` when the recipient address itself was refused. */
  | { kind: 'permanent'; error: string; bounce?: boolean }
  /** Decided without sending: no address, suppressed, disconnected, template error. */
  | { kind: 'final'; status: 'skipped' | 'suppressed' | 'dead'; error: string };
