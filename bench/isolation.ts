/**
 * `npm run bench:isolation` — one workspace runs pathological previews (heavy definitions over a
 * never-ANALYZEd workspace, clients that give up after a few seconds) and a template loop (people
 * keep entering an audience whose email template runs into its render limit for them) while another
 * workspace ingests at a steady rate and a monitor polls /health. Measures the other workspace's single
 * /v1/track latency next to the same measurement with nothing else running, and /health.
 * Goals: ingest p99 < 200 ms and /health 200 throughout; no preview answers 5xx.
 * Prints a table and writes bench/results/isolation-<timestamp>.json.
 *
 * Knobs (env): BENCH_PROFILES (10000), BENCH_EVENTS_PER_PROFILE (40), BENCH_PREVIEW_CLIENTS (6),
 * BENCH_GIVE_UP_MS (3000), BENCH_LATENCY_RPS (50), BENCH_LATENCY_S (20), BENCH_SLOW_RENDERS_PER_S (4),
 * LOG_LEVEL (warn).
 */
import 'reflect-metadata';

import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

import { Client } from 'pg';

import { createPersonae } from '../src/app.factory';
import { loadConfig } from '../src/config/app-config';
import { SmtpTestServer } from '../test/destinations/support/smtp-test-server';
import { createTestDatabase } from '../test/support/database';
import type { LoadJob, LoadResult } from './ingest/load-client';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const PROFILES = env('BENCH_PROFILES', 10_000);
const EVENTS_PER_PROFILE = env('BENCH_EVENTS_PER_PROFILE', 40);
const PREVIEW_CLIENTS = env('BENCH_PREVIEW_CLIENTS', 6);
const GIVE_UP_MS = env('BENCH_GIVE_UP_MS', 3_000);
const LATENCY_RPS = env('BENCH_LATENCY_RPS', 50);
const LATENCY_S = env('BENCH_LATENCY_S', 20);
const SLOW_RENDERS_PER_S = env('BENCH_SLOW_RENDERS_PER_S', 4);
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const P99_GOAL_MS = 200;

const NAMES = ['Product Added', 'Order Completed', 'Signed Up', 'Project Created', 'Invite Sent'];

/** Definitions that read every event of the workspace, many times over. */
const PATHOLOGICAL = [
  Array.from({ length: 10 }, (_, i) => `performed "${NAMES[i % NAMES.length]}"`).join(' then ') + ' within 30 days',
  Array.from(
    { length: 100 },
    (_, i) => `performed "${NAMES[i % NAMES.length]}" where (k${i % 10} contains "x${i}" and k${(i + 1) % 10} exists)`,
  ).join(' or '),
  `performed "Product Added" then not performed "Product Added" within 1 hour`,
  'performed "Order Completed" at least 1000 times or inactive 1 days',
];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function runLoad(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'ingest', 'load-client.ts'), [], { execArgv: ['-r', '@swc-node/register'] });
    child.once('message', (result) => resolve(result as LoadResult));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`load client exited with ${code}`))));
    child.send(job);
  });
}

interface Workspace {
  id: string;
  writeKey: string;
  apiToken: string;
}

async function createWorkspace(baseUrl: string, name: string, sql: Client): Promise<Workspace> {
  const response = await fetch(`${baseUrl}/api/workspaces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  const body = (await response.json()) as { workspace: { id: string }; source: { writeKey: string }; apiToken: string };
  // The benchmark measures waiting on the database, not the rate limiter's refusals.
  await sql.query(`UPDATE workspaces SET settings = '{"tracking":{"rateLimitPerSecond":10000000}}' WHERE id = $1`, [
    body.workspace.id,
  ]);
  return { id: body.workspace.id, writeKey: body.source.writeKey, apiToken: body.apiToken };
}

/** The busy workspace's data, written directly; no ANALYZE, as on a young deployment. */
async function seed(sql: Client, workspace: Workspace): Promise<void> {
  await sql.query(
    `INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
     SELECT gen_random_uuid(), $1, '{}', now() - interval '60 days', now() FROM generate_series(1, $2)`,
    [workspace.id, PROFILES],
  );
  await sql.query(
    `INSERT INTO events (workspace_id, profile_id, source_id, message_id, type, name, properties, timestamp, received_at)
     SELECT $1, p.id, $1, gen_random_uuid()::text, 'track', ($3::text[])[1 + (g % cardinality($3::text[]))],
       jsonb_build_object('k' || (g % 10), 'x' || (g % 200), 'k' || ((g + 1) % 10), g),
       now() - (g % 5000) * interval '10 minutes', now()
     FROM profiles p CROSS JOIN generate_series(1, $2) g WHERE p.workspace_id = $1`,
    [workspace.id, EVENTS_PER_PROFILE, NAMES],
  );
}

interface PreviewStats {
  statuses: Record<string, number>;
  gaveUp: number;
}

/** Preview clients that post pathological definitions in a loop and give up after GIVE_UP_MS. */
function startPreviews(baseUrl: string, workspace: Workspace): { stop: () => Promise<PreviewStats> } {
  const stats: PreviewStats = { statuses: {}, gaveUp: 0 };
  let running = true;
  const client = async (index: number): Promise<void> => {
    for (let round = 0; running; round += 1) {
      const definition = PATHOLOGICAL[(index + round) % PATHOLOGICAL.length];
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), GIVE_UP_MS);
      try {
        const response = await fetch(`${baseUrl}/api/audiences/preview`, {
          method: 'POST',
          headers: { authorization: `Bearer ${workspace.apiToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ definition }),
          signal: controller.signal,
        });
        await response.arrayBuffer();
        stats.statuses[response.status] = (stats.statuses[response.status] ?? 0) + 1;
      } catch {
        stats.gaveUp += 1;
      } finally {
        clearTimeout(timer);
      }
    }
  };
  const clients = Array.from({ length: PREVIEW_CLIENTS }, (_, i) => client(i));
  return {
    stop: async () => {
      running = false;
      await Promise.all(clients);
      return stats;
    },
  };
}

/** Fine for the sample profile (no items); 3,000² iterations for the people of the template loop. */
const SLOW_TEMPLATE = '{% for a in traits.items %}{% for b in traits.items %}{{ b }}{% endfor %}{% endfor %}';
const ITEMS = Array.from({ length: 3_000 }, (_, i) => i);

async function api(baseUrl: string, workspace: Workspace, path: string, body: object): Promise<{ id: string }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${workspace.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { id: string };
}

/**
 * The template loop: an email destination whose template runs into its render limit for people
 * with many items, connected to an audience that SLOW_RENDERS_PER_S such people enter every second
 * (identify calls of the busy workspace). Every render takes its whole time limit.
 */
async function startTemplateLoop(
  baseUrl: string,
  workspace: Workspace,
  smtpUrl: string,
): Promise<{ stop: () => Promise<{ identified: number }> }> {
  const destination = await api(baseUrl, workspace, '/api/destinations', {
    type: 'email',
    name: 'Slow template',
    config: { smtpUrl, from: 'Bench <bench@example.test>', subject: 'Hi', html: SLOW_TEMPLATE },
  });
  const audience = await api(baseUrl, workspace, '/api/audiences', {
    key: 'many-items',
    name: 'Many items',
    definition: 'trait items exists',
  });
  await api(baseUrl, workspace, `/api/audiences/${audience.id}/destinations`, { destinationId: destination.id });
  let running = true;
  let identified = 0;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const batch = Array.from({ length: SLOW_RENDERS_PER_S }, () => ({
        type: 'identify',
        userId: `slow-${randomBytes(6).toString('hex')}`,
        traits: { email: `slow-${identified}@example.test`, items: ITEMS },
      }));
      const response = await fetch(`${baseUrl}/v1/batch`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${workspace.writeKey}:`).toString('base64')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ batch }),
      }).catch(() => undefined);
      await response?.arrayBuffer();
      if (response?.ok) identified += batch.length;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1_000 - (performance.now() - started))));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { identified };
    },
  };
}

/** Polls /health every 200 ms until stopped. */
function startHealthMonitor(baseUrl: string): {
  stop: () => Promise<{ statuses: Record<string, number>; ms: number[] }>;
} {
  const statuses: Record<string, number> = {};
  const ms: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const status = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(10_000) })
        .then(async (response) => {
          await response.arrayBuffer();
          return response.status;
        })
        .catch(() => 0);
      ms.push(performance.now() - started);
      statuses[status] = (statuses[status] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { statuses, ms };
    },
  };
}

async function main(): Promise<void> {
  const database = await createTestDatabase('personae_bench_isolation');
  const smtp = await SmtpTestServer.start();
  const config = loadConfig({
    // The template loop's mail sink listens on loopback.
    DESTINATION_ALLOWED_NETWORKS: '127.0.0.0/8',
    DATABASE_URL: database.url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    ADMIN_TOKEN,
    QUEUE_PREFIX: `bench-${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const personae = await createPersonae(config);
  const http = personae.http;
  if (!http) throw new Error('the all role serves HTTP');
  await http.listen(0, '127.0.0.1');
  const { port } = http.getHttpServer().address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const sql = new Client({ connectionString: database.url });
  await sql.connect();
  try {
    const busy = await createWorkspace(baseUrl, 'Busy', sql);
    const ingesting = await createWorkspace(baseUrl, 'Ingesting', sql);
    process.stdout.write(`seeding ${PROFILES} profiles × ${EVENTS_PER_PROFILE} events in the busy workspace…\n`);
    await seed(sql, busy);
    const measure = (runId: string): Promise<LoadResult> =>
      runLoad({
        mode: 'latency',
        baseUrl,
        writeKey: ingesting.writeKey,
        runId,
        durationMs: LATENCY_S * 1000,
        concurrency: 4,
        batchSize: 1,
        ratePerSecond: LATENCY_RPS,
        people: 5_000,
      });

    process.stdout.write(`baseline: /v1/track at ${LATENCY_RPS}/s for ${LATENCY_S} s, nothing else running…\n`);
    await measure('warm');
    const idle = await measure('idle');

    process.stdout.write(
      `${PREVIEW_CLIENTS} preview clients (giving up after ${GIVE_UP_MS} ms), ${SLOW_RENDERS_PER_S} slow renders/s + the same ingest…\n`,
    );
    // The server runs in this process: how long its event loop was blocked (parsing large
    // definitions) tells Node's share of the latency from Postgres's.
    const eventLoop = monitorEventLoopDelay({ resolution: 10 });
    eventLoop.enable();
    const previews = startPreviews(baseUrl, busy);
    const templates = await startTemplateLoop(baseUrl, busy, smtp.url);
    const health = startHealthMonitor(baseUrl);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const loaded = await measure('loaded');
    const healthResult = await health.stop();
    const previewStats = await previews.stop();
    const templateLoop = await templates.stop();
    const renders = await sql.query<{ status: string; n: number }>(
      `SELECT d.status::text AS status, count(*)::int AS n FROM deliveries d WHERE d.workspace_id = $1 GROUP BY 1`,
      [busy.id],
    );
    const deliveries = Object.fromEntries(renders.rows.map((row) => [row.status, row.n]));
    eventLoop.disable();
    const eventLoopDelay = { p99Ms: eventLoop.percentile(99) / 1e6, maxMs: eventLoop.max / 1e6 };

    const idleSorted = [...idle.latenciesMs].sort((a, b) => a - b);
    const loadedSorted = [...loaded.latenciesMs].sort((a, b) => a - b);
    const healthSorted = [...healthResult.ms].sort((a, b) => a - b);
    const healthFailures = Object.entries(healthResult.statuses)
      .filter(([status]) => status !== '200')
      .reduce((sum, [, n]) => sum + n, 0);
    const preview5xx = Object.entries(previewStats.statuses)
      .filter(([status]) => Number(status) >= 500)
      .reduce((sum, [, n]) => sum + n, 0);
    const results = {
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadAverage: loadavg() },
      settings: {
        profiles: PROFILES,
        eventsPerProfile: EVENTS_PER_PROFILE,
        previewClients: PREVIEW_CLIENTS,
        giveUpMs: GIVE_UP_MS,
        latencyRps: LATENCY_RPS,
        latencySeconds: LATENCY_S,
        interactivePoolSize: config.INTERACTIVE_POOL_SIZE,
        interactiveQueriesPerWorkspace: config.INTERACTIVE_QUERIES_PER_WORKSPACE,
        interactiveStatementTimeoutMs: config.INTERACTIVE_STATEMENT_TIMEOUT_MS,
        databasePoolSize: config.DATABASE_POOL_SIZE,
      },
      ingestIdle: {
        requests: idle.requests,
        failures: idle.failures,
        p50Ms: percentile(idleSorted, 50),
        p99Ms: percentile(idleSorted, 99),
      },
      ingestWhilePreviews: {
        requests: loaded.requests,
        failures: loaded.failures,
        statuses: loaded.statuses,
        p50Ms: percentile(loadedSorted, 50),
        p99Ms: percentile(loadedSorted, 99),
        maxMs: loadedSorted[loadedSorted.length - 1] ?? Number.NaN,
      },
      health: { statuses: healthResult.statuses, p99Ms: percentile(healthSorted, 99) },
      serverEventLoopDelay: eventLoopDelay,
      previews: previewStats,
      templateLoop: { identified: templateLoop.identified, deliveries },
    };

    const fmt = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 1 });
    const table = [
      ['metric', 'value', 'goal'],
      [
        'ingest p50 / p99, nothing else running (ms)',
        `${fmt(results.ingestIdle.p50Ms)} / ${fmt(results.ingestIdle.p99Ms)}`,
        '',
      ],
      [
        'ingest p50 / p99 while previews and slow renders run (ms)',
        `${fmt(results.ingestWhilePreviews.p50Ms)} / ${fmt(results.ingestWhilePreviews.p99Ms)}`,
        `p99 < ${P99_GOAL_MS}`,
      ],
      ['ingest requests failed while previews run', fmt(loaded.failures), '0'],
      ['/health answers other than 200', `${healthFailures} of ${healthResult.ms.length}`, '0'],
      ['/health p99 (ms)', fmt(results.health.p99Ms), ''],
      ["server's event loop delay p99 / max (ms)", `${fmt(eventLoopDelay.p99Ms)} / ${fmt(eventLoopDelay.maxMs)}`, ''],
      ['preview answers by status', JSON.stringify(previewStats.statuses), 'no 5xx'],
      ['previews the client gave up on', fmt(previewStats.gaveUp), ''],
      [
        'slow-template people entered / deliveries by status',
        `${templateLoop.identified} / ${JSON.stringify(deliveries)}`,
        '',
      ],
    ];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
    process.stdout.write(
      `\n${table.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')).join('\n')}\n`,
    );
    const met =
      results.ingestWhilePreviews.p99Ms < P99_GOAL_MS &&
      healthFailures === 0 &&
      loaded.failures === 0 &&
      preview5xx === 0;
    process.stdout.write(met ? '\nevery goal met\n' : '\nGOAL MISSED\n');
    const dir = join(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `isolation-${results.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`report: ${file}\n`);
    if (!met) process.exitCode = 1;
  } finally {
    await sql.end();
    await personae.close();
    await smtp.close();
    await database.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
