/**
 * `npm run bench:membership` — full recompute time of a few audiences over the seeded benchmark
 * dataset (first computation: everyone enters; second: no change; after 7 days: some leave), next
 * to the time of the bare target-set query (the floor: what Postgres needs just to find the
 * people), then the event → entered latency of single /v1/track calls against a running app
 * (ROLE=all) under light load. Prints a table and writes bench/results/membership-<timestamp>.json.
 */
import 'reflect-metadata';

import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { Queue } from 'bullmq';
import { Client } from 'pg';

import { createPersonae } from '../src/app.factory';
import { readAudienceDefinition } from '../src/audiences/language/audience-definition';
import { compileAudiencePredicate } from '../src/audiences/language/compiler/audience-compiler';
import { ManualClock } from '../src/common/clock';
import { AppConfig, loadConfig } from '../src/config/app-config';
import { migrate } from '../src/database/migrator';
import { generateDataset } from '../src/demo/generator/dataset';
import { MembershipService } from '../src/membership/membership.service';
import { bullOptions } from '../src/queues/queue-connection';
import { QueueName } from '../src/queues/queue-names';
import { ensureDatabase } from './generator/database';
import { machineInfo, redactUrl } from './generator/report';
import { writeDataset } from './generator/writer';
import { engineContext } from './membership/engine-context';
import { LatencyResult, measureLatency } from './membership/latency';

const DAY = 86_400_000;
const PING_EVENT = 'Bench Ping';

/** The audiences timed; keys are prefixed so a rerun replaces them. */
const AUDIENCES: { key: string; definition: string }[] = [
  { key: 'bench-buyers', definition: 'performed "Order Completed"' },
  { key: 'bench-engaged', definition: 'performed "Product Viewed" at least 3 times within 30 days' },
  { key: 'bench-active', definition: 'active within 14 days' },
  { key: 'bench-dormant', definition: 'never performed "Tutorial Viewed" and inactive 30 days' },
  { key: 'bench-free-active', definition: 'trait plan = "Free" and in audience "bench-active"' },
];
const LATENCY_AUDIENCE = { key: 'bench-latency', definition: `performed "${PING_EVENT}"` };

interface ComputeTiming {
  seconds: number;
  entered: number;
  exited: number;
  members: number;
}

interface AudienceResult {
  key: string;
  definition: string;
  targetQuerySeconds: number;
  first: ComputeTiming;
  unchanged: ComputeTiming;
  afterSevenDays: ComputeTiming;
}

function sizeLabel(n: number): string {
  return n >= 1_000_000 && n % 1_000_000 === 0
    ? `${n / 1_000_000}m`
    : n >= 1_000
      ? `${Math.round(n / 1_000)}k`
      : `${n}`;
}

function integer(value: string | undefined, fallback: number): number {
  const parsed = value === undefined ? fallback : Number(value.replace(/_/g, ''));
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw new Error(`not a whole number: ${value}`);
  return parsed;
}

async function query<T extends object>(client: Client, text: string, values: unknown[] = []): Promise<T[]> {
  return (await client.query(text, values)).rows as T[];
}

/** Loads the seeded dataset unless the database already holds exactly it. */
async function ensureDataset(url: string, profiles: number, events: number) {
  const dataset = generateDataset({ profiles, events });
  await ensureDatabase(url);
  await migrate(url);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const [counts] = await query<{ profiles: number; events: number }>(
      client,
      `SELECT (SELECT count(*)::int FROM profiles WHERE workspace_id = $1 AND id::text NOT IN (
                SELECT profile_id::text FROM identities WHERE workspace_id = $1 AND value LIKE 'bench-latency-%')) AS profiles,
              (SELECT count(*)::int FROM events WHERE workspace_id = $1 AND name IS DISTINCT FROM $2) AS events`,
      [dataset.workspace.id, PING_EVENT],
    );
    if (counts?.profiles === profiles && counts.events === events) return { dataset, loaded: false };
  } finally {
    await client.end();
  }
  console.error(`loading ${profiles.toLocaleString('en-US')} profiles / ${events.toLocaleString('en-US')} events…`);
  await writeDataset(dataset, {
    databaseUrl: url,
    onProgress: (p) => console.error(`  ${p.elapsedSeconds.toFixed(0)}s  events ${p.events.toLocaleString('en-US')}`),
  });
  return { dataset, loaded: true };
}

async function insertAudiences(client: Client, workspaceId: string): Promise<Map<string, string>> {
  await client.query(`DELETE FROM audiences WHERE workspace_id = $1 AND key LIKE 'bench-%'`, [workspaceId]);
  const ids = new Map<string, string>();
  for (const audience of [...AUDIENCES, LATENCY_AUDIENCE]) {
    const read = readAudienceDefinition(audience.definition);
    if (!read.ok) throw new Error(`bad bench definition ${audience.key}`);
    const [row] = await query<{ id: string }>(
      client,
      `INSERT INTO audiences (id, workspace_id, key, name, definition_ast, definition_text, updated_at)
       VALUES (gen_random_uuid(), $1, $2, $2, $3, $4, now()) RETURNING id`,
      [workspaceId, audience.key, JSON.stringify(read.ast), read.text],
    );
    ids.set(audience.key, row!.id);
  }
  return ids;
}

/** The floor: counting the target set with the same compiled predicate, no writes (best of two runs). */
async function targetQuerySeconds(client: Client, workspaceId: string, definition: string, now: Date): Promise<number> {
  const read = readAudienceDefinition(definition);
  if (!read.ok) throw new Error('bad definition');
  const predicate = compileAudiencePredicate(read.ast, { workspaceId, now });
  const text = `SELECT count(*) FROM profiles p WHERE p.workspace_id = $${predicate.values.length + 1}::uuid AND p.merged_into_id IS NULL AND ${predicate.text}`;
  // Best of two: the first run also pays for reading the tables into the cache.
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 2; run += 1) {
    const started = performance.now();
    await client.query(text, [...predicate.values, workspaceId]);
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return best;
}

async function timeCompute(engine: MembershipService, workspaceId: string, audienceId: string): Promise<ComputeTiming> {
  const started = performance.now();
  const outcome = await engine.compute({ workspaceId, audienceId, reason: 'scheduled' });
  const seconds = (performance.now() - started) / 1000;
  if (outcome.kind !== 'computed') throw new Error(`audience ${audienceId} was not computed`);
  return { seconds, entered: outcome.entered, exited: outcome.exited, members: outcome.memberCount };
}

async function obliterate(config: AppConfig): Promise<void> {
  for (const name of Object.values(QueueName)) {
    const queue = new Queue(name, bullOptions(config));
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

function benchConfig(url: string, role: 'worker' | 'all'): AppConfig {
  return loadConfig({
    DATABASE_URL: url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    ADMIN_TOKEN: 'bench-admin-token-0123456789',
    QUEUE_PREFIX: `bench-membership-${randomBytes(4).toString('hex')}`,
    ROLE: role,
    PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
}

async function latencyPhase(url: string, workspaceId: string, writeKey: string, audienceId: string, samples: number) {
  const config = benchConfig(url, 'all');
  const personae = await createPersonae(config);
  try {
    await personae.http!.listen(0, '127.0.0.1');
    const { port } = personae.http!.getHttpServer().address() as AddressInfo;
    const common = { databaseUrl: url, baseUrl: `http://127.0.0.1:${port}`, writeKey, workspaceId, audienceId };
    await measureLatency({ ...common, event: PING_EVENT, samples: 5, gapMs: 50 }); // warm-up
    return await measureLatency({ ...common, event: PING_EVENT, samples, gapMs: 50 });
  } finally {
    await personae.close();
    await obliterate(config);
  }
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profiles: { type: 'string' },
      events: { type: 'string' },
      'database-url': { type: 'string' },
      samples: { type: 'string' },
      'skip-latency': { type: 'boolean', default: false },
      'results-dir': { type: 'string' },
    },
  });
  const profiles = integer(values.profiles, 100_000);
  const events = integer(values.events, 1_000_000);
  const samples = integer(values.samples, 200);
  const url =
    values['database-url'] ?? `postgresql://postgres@127.0.0.1:5432/personae_bench_membership_${sizeLabel(profiles)}`;
  const startedAt = new Date().toISOString();

  const { dataset, loaded } = await ensureDataset(url, profiles, events);
  const workspaceId = dataset.workspace.id;
  const client = new Client({ connectionString: url });
  await client.connect();
  const ids = await insertAudiences(client, workspaceId);

  const clock = new ManualClock(dataset.options.now);
  const config = benchConfig(url, 'worker');
  const context = await engineContext(config, clock);
  const engine = context.get(MembershipService);
  const results: AudienceResult[] = [];
  try {
    await timeCompute(engine, workspaceId, ids.get(LATENCY_AUDIENCE.key)!);
    const firsts = new Map<string, { target: number; first: ComputeTiming; unchanged: ComputeTiming }>();
    for (const audience of AUDIENCES) {
      const id = ids.get(audience.key)!;
      const target = await targetQuerySeconds(client, workspaceId, audience.definition, clock.now());
      const first = await timeCompute(engine, workspaceId, id);
      const unchanged = await timeCompute(engine, workspaceId, id);
      firsts.set(audience.key, { target, first, unchanged });
      console.error(
        `  ${audience.key}: ${first.members.toLocaleString('en-US')} members in ${first.seconds.toFixed(2)} s`,
      );
    }
    clock.advance(7 * DAY);
    for (const audience of AUDIENCES) {
      const afterSevenDays = await timeCompute(engine, workspaceId, ids.get(audience.key)!);
      const { target, first, unchanged } = firsts.get(audience.key)!;
      results.push({
        key: audience.key,
        definition: audience.definition,
        targetQuerySeconds: target,
        first,
        unchanged,
        afterSevenDays,
      });
    }
  } finally {
    await context.close();
    await obliterate(config);
  }

  let latency: LatencyResult | undefined;
  if (!values['skip-latency']) {
    latency = await latencyPhase(url, workspaceId, dataset.source.writeKey, ids.get(LATENCY_AUDIENCE.key)!, samples);
  }
  await client.end();

  const s = (n: number) => n.toFixed(2);
  const c = (n: number) => n.toLocaleString('en-US');
  console.log(
    `\nfull recompute, ${c(profiles)} profiles / ${c(events)} events (${redactUrl(url)})\n` +
      table(
        [
          'audience',
          'members',
          'target query s',
          '1st compute s',
          'entered',
          'no-change s',
          '+7 days s',
          'entered',
          'exited',
        ],
        results.map((r) => [
          r.key,
          c(r.first.members),
          s(r.targetQuerySeconds),
          s(r.first.seconds),
          c(r.first.entered),
          s(r.unchanged.seconds),
          s(r.afterSevenDays.seconds),
          c(r.afterSevenDays.entered),
          c(r.afterSevenDays.exited),
        ]),
      ),
  );
  if (latency) {
    console.log(
      `\nevent → entered, single /v1/track calls, ROLE=all, ${latency.samples} samples (${latency.timeouts} timeouts)\n` +
        table(
          ['', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
          [
            ['event → entered', s(latency.ms.p50), s(latency.ms.p95), s(latency.ms.p99), s(latency.ms.max)],
            ['/v1/track response', s(latency.trackMs.p50), s(latency.trackMs.p95), '', ''],
          ],
        ),
    );
  }
  const report = {
    kind: 'bench-membership',
    startedAt,
    dataset: dataset.options,
    database: { url: redactUrl(url), loaded },
    machine: machineInfo(),
    audiences: results,
    latency: latency ?? null,
  };
  const directory = values['results-dir'] ?? join(__dirname, 'results');
  await mkdir(directory, { recursive: true });
  const path = join(directory, `membership-${startedAt.replace(/[:.]/g, '-')}.json`);
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nreport: ${path}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
