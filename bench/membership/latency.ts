import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { Client } from 'pg';

export interface LatencyOptions {
  databaseUrl: string;
  baseUrl: string;
  writeKey: string;
  workspaceId: string;
  audienceId: string;
  event: string;
  samples: number;
  /** Pause between two calls: light load, one person at a time. */
  gapMs: number;
}

export interface LatencyResult {
  samples: number;
  timeouts: number;
  ms: { p50: number; p95: number; p99: number; max: number; mean: number };
  trackMs: { p50: number; p95: number };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const POLL_MS = 5;
const TIMEOUT_MS = 10_000;

/**
 * For each sample, a new person sends one /v1/track call that makes them qualify; the latency is
 * from just before the call until their `entered` transition is committed (polled every 5 ms).
 */
export async function measureLatency(options: LatencyOptions): Promise<LatencyResult> {
  const client = new Client({ connectionString: options.databaseUrl });
  await client.connect();
  const run = randomBytes(4).toString('hex');
  const auth = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  const latencies: number[] = [];
  const trackTimes: number[] = [];
  let timeouts = 0;
  try {
    for (let i = 0; i < options.samples; i += 1) {
      const userId = `bench-latency-${run}-${i}`;
      const started = performance.now();
      const response = await fetch(`${options.baseUrl}/v1/track`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({ userId, event: options.event }),
      });
      trackTimes.push(performance.now() - started);
      if (response.status !== 200) throw new Error(`/v1/track answered ${response.status}: ${await response.text()}`);
      let entered = false;
      while (performance.now() - started < TIMEOUT_MS) {
        const { rowCount } = await client.query(
          `SELECT 1 FROM audience_transitions t JOIN identities i ON i.profile_id = t.profile_id
           WHERE i.workspace_id = $1 AND i.type = 'user_id' AND i.value = $2 AND t.audience_id = $3 AND t.kind = 'entered'`,
          [options.workspaceId, userId, options.audienceId],
        );
        if ((rowCount ?? 0) > 0) {
          entered = true;
          break;
        }
        await sleep(POLL_MS);
      }
      if (entered) latencies.push(performance.now() - started);
      else timeouts += 1;
      await sleep(options.gapMs);
    }
  } finally {
    await client.end();
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const tracks = [...trackTimes].sort((a, b) => a - b);
  return {
    samples: latencies.length,
    timeouts,
    ms: {
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1] ?? Number.NaN,
      mean: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
    },
    trackMs: { p50: percentile(tracks, 50), p95: percentile(tracks, 95) },
  };
}
