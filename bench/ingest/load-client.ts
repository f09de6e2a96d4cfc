/**
 * Load generator, run as a child process so that building and sending requests does not share an
 * event loop with the server under test. Protocol: one `LoadJob` message in, one `LoadResult` out.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

import { benchMessageJson, checkBenchMessageJson } from './payloads';

export interface LoadJob {
  mode: 'throughput' | 'latency';
  baseUrl: string;
  writeKey: string;
  runId: string;
  durationMs: number;
  concurrency: number;
  /** Messages per /v1/batch request (throughput mode). */
  batchSize: number;
  /** Total requests per second across all clients (latency mode). */
  ratePerSecond: number;
  people: number;
}

export interface LoadResult {
  requests: number;
  events: number;
  failures: number;
  statuses: Record<string, number>;
  elapsedMs: number;
  latenciesMs: number[];
  /** CPU this process used (building and sending requests), in ms. */
  cpuMs: number;
}

/** Plain node:http on kept-alive connections: fetch's streams cost the generator more CPU. */
function poster(job: LoadJob): (path: string, body: string) => Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  const authorization = `Basic ${Buffer.from(`${job.writeKey}:`).toString('base64')}`;
  return (path, body) =>
    new Promise((resolve, reject) => {
      const payload = Buffer.from(body);
      const req = request(
        `${job.baseUrl}${path}`,
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

async function run(job: LoadJob): Promise<LoadResult> {
  const result: LoadResult = {
    requests: 0,
    events: 0,
    failures: 0,
    statuses: {},
    elapsedMs: 0,
    latenciesMs: [],
    cpuMs: 0,
  };
  const post = poster(job);
  const cpuBefore = process.cpuUsage();
  let counter = 0;
  const started = performance.now();
  const deadline = started + job.durationMs;
  const interval = job.mode === 'latency' ? (1000 * job.concurrency) / job.ratePerSecond : 0;

  const client = async (index: number): Promise<void> => {
    let next = started + (interval * index) / job.concurrency;
    while (performance.now() < deadline) {
      if (interval > 0) {
        const wait = next - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        next += interval;
      }
      const size = job.mode === 'latency' ? 1 : job.batchSize;
      const now = new Date().toISOString();
      const messages: string[] = [];
      for (let i = 0; i < size; i += 1) messages.push(benchMessageJson(job.runId, counter++, job.people, now));
      const path = job.mode === 'latency' ? '/v1/track' : '/v1/batch';
      const body =
        job.mode === 'latency'
          ? JSON.stringify({ ...JSON.parse(messages[0] ?? '{}'), type: undefined, event: 'Product Viewed' })
          : `{"batch":[${messages.join(',')}],"sentAt":"${now}"}`;
      const sent = performance.now();
      const status = await post(path, body).catch(() => 0);
      result.latenciesMs.push(performance.now() - sent);
      result.requests += 1;
      result.statuses[status] = (result.statuses[status] ?? 0) + 1;
      if (status === 200) result.events += size;
      else result.failures += 1;
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, (_, i) => client(i)));
  result.elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  result.cpuMs = (cpu.user + cpu.system) / 1000;
  return result;
}

process.once('message', (job: LoadJob) => {
  checkBenchMessageJson(job.runId, job.people);
  run(job).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`load client failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
