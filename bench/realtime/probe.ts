import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { Client } from 'pg';

import { percentile } from '../membership/latency';

export interface ProbeOptions {
  databaseUrl: string;
  baseUrl: string;
  writeKey: string;
  workspaceId: string;
  audienceId: string;
  event: string;
  /** Names the probe's people (`<label>-<run>-<n>`). */
  label: string;
  /** Pause between two probes: light traffic, one new person at a time. */
  gapMs: number;
  timeoutMs: number;
}

export interface ProbeResult {
  samples: number;
  timeouts: number;
  ms: { p50: number; p95: number; p99: number; max: number };
  trackMs: { p50: number; p95: number };
}

const POLL_MS = 5;

/**
 * Event → entered latency: one new person after another sends a single /v1/track call that
 * qualifies them; the latency runs from just before the call until their membership is committed.
 */
export class Probe {
  private stopped = false;
  private loop?: Promise<void>;
  private readonly latencies: number[] = [];
  private readonly trackTimes: number[] = [];
  private timeouts = 0;
  private next = 0;
  private readonly run = randomBytes(3).toString('hex');
  private readonly auth: string;

  constructor(private readonly options: ProbeOptions) {
    this.auth = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  }

  /** Probes until stop(). */
  start(): void {
    this.loop = this.probeWhile(() => !this.stopped);
  }

  async stop(): Promise<ProbeResult> {
    this.stopped = true;
    await this.loop;
    return this.result();
  }

  /** A fixed number of probes (the quiet machine's single-call latency). */
  async sample(count: number): Promise<ProbeResult> {
    await this.probeWhile(() => this.latencies.length < count);
    return this.result();
  }

  private async probeWhile(more: () => boolean): Promise<void> {
    const client = new Client({ connectionString: this.options.databaseUrl });
    await client.connect();
    try {
      while (more()) {
        await this.probeOnce(client, `${this.options.label}-${this.run}-${(this.next += 1)}`);
        await sleep(this.options.gapMs);
      }
    } finally {
      await client.end();
    }
  }

  private async probeOnce(client: Client, userId: string): Promise<void> {
    const started = performance.now();
    const response = await fetch(`${this.options.baseUrl}/v1/track`, {
      method: 'POST',
      headers: { authorization: this.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ userId, event: this.options.event, properties: { value: 10 } }),
    });
    this.trackTimes.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`/v1/track answered ${response.status}: ${await response.text()}`);
    while (performance.now() - started < this.options.timeoutMs) {
      const { rowCount } = await client.query(
        `SELECT 1 FROM audience_members m JOIN identities i ON i.profile_id = m.profile_id
         WHERE i.workspace_id = $1 AND i.type = 'user_id' AND i.value = $2 AND m.audience_id = $3`,
        [this.options.workspaceId, userId, this.options.audienceId],
      );
      if ((rowCount ?? 0) > 0) {
        this.latencies.push(performance.now() - started);
        return;
      }
      await sleep(POLL_MS);
    }
    // Counted at the timeout, so that the percentiles do not forget the probes that never entered.
    this.latencies.push(performance.now() - started);
    this.timeouts += 1;
  }

  private result(): ProbeResult {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const tracks = [...this.trackTimes].sort((a, b) => a - b);
    return {
      samples: sorted.length,
      timeouts: this.timeouts,
      ms: {
        p50: percentile(sorted, 50),
        p95: percentile(sorted, 95),
        p99: percentile(sorted, 99),
        max: sorted[sorted.length - 1] ?? Number.NaN,
      },
      trackMs: { p50: percentile(tracks, 50), p95: percentile(tracks, 95) },
    };
  }
}
