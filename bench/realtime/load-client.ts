/**
 * Load generator for bench:realtime, run as a child process so that building and sending requests
 * does not share an event loop with the bench's probes. One `RealtimeLoadJob` message in, one
 * `RealtimeLoadResult` out.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

import { realtimeMessageJson } from './messages';

const DAY_MS = 86_400_000;

export interface RealtimeLoadJob {
  baseUrl: string;
  writeKey: string;
  /** `/v1/batch` (live) or `/v1/import` (history). */
  path: string;
  runId: string;
  durationMs: number;
  concurrency: number;
  batchSize: number;
  /** Events per second across all clients; 0 sends as fast as the server answers. */
  ratePerSecond: number;
  returning: string[];
  returningShare: number;
  /** History: timestamps this many days old and up to `maxAgeDays` (0, 0: now). */
  minAgeDays: number;
  maxAgeDays: number;
}

export interface RealtimeLoadResult {
  requests: number;
  events: number;
  failures: number;
  statuses: Record<string, number>;
  elapsedMs: number;
  cpuMs: number;
}

function poster(job: RealtimeLoadJob): (body: string) => Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  const authorization = `Basic ${Buffer.from(`${job.writeKey}:`).toString('base64')}`;
  return (body) =>
    new Promise((resolve, reject) => {
      const payload = Buffer.from(body);
      const req = request(
        `${job.baseUrl}${job.path}`,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': payload.length, authorization },
        },
        (response) => {
          response.on('data', () => undefined);
          response.on('end', () => resolve(response.statusCode ?? 0));
          response.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
}

async function run(job: RealtimeLoadJob): Promise<RealtimeLoadResult> {
  const result: RealtimeLoadResult = { requests: 0, events: 0, failures: 0, statuses: {}, elapsedMs: 0, cpuMs: 0 };
  const post = poster(job);
  const cpuBefore = process.cpuUsage();
  let counter = 0;
  const started = performance.now();
  const deadline = started + job.durationMs;
  const interval = job.ratePerSecond > 0 ? (1000 * job.batchSize * job.concurrency) / job.ratePerSecond : 0;
  const spread = Math.max(0, job.maxAgeDays - job.minAgeDays) * DAY_MS;

  const client = async (index: number): Promise<void> => {
    let next = started + (interval * index) / job.concurrency;
    while (performance.now() < deadline) {
      if (interval > 0) {
        const wait = next - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        next += interval;
      }
      const now = Date.now();
      const messages: string[] = [];
      for (let i = 0; i < job.batchSize; i += 1) {
        const n = counter++;
        const age = job.maxAgeDays > 0 ? job.minAgeDays * DAY_MS + ((n * 7_919_993) % Math.max(1, spread)) : 0;
        messages.push(
          realtimeMessageJson(n, {
            runId: job.runId,
            returning: job.returning,
            returningShare: job.returningShare,
            at: new Date(now - age).toISOString(),
          }),
        );
      }
      const status = await post(`{"batch":[${messages.join(',')}],"sentAt":"${new Date(now).toISOString()}"}`).catch(
        () => 0,
      );
      result.requests += 1;
      result.statuses[status] = (result.statuses[status] ?? 0) + 1;
      if (status === 200) result.events += job.batchSize;
      else result.failures += 1;
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, (_, i) => client(i)));
  result.elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  result.cpuMs = (cpu.user + cpu.system) / 1000;
  return result;
}

process.once('message', (job: RealtimeLoadJob) => {
  run(job).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`load client failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
