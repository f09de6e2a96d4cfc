/**
 * `npm run bench:journeys` — journey timers at scale. Loads --runs runs (default 1,000,000) waiting
 * at a `wait` step of one journey (wait → branch on a trait → exit), then:
 *   1. lateness: --due of them (default 50,000) fall due uniformly over the next --window seconds
 *      (default 30) while the rest keep waiting for a month; a worker process's scheduled sweep
 *      runs them, and each wait step's lateness is the time it was passed minus the time it was due;
 *   2. throughput: --backlog more (default 200,000) are made due at once; steps per second is the
 *      number of steps taken (wait, branch, exit) over the time to drain them;
 *   3. sends: --sends more runs (default 5,000) of a second journey (wait → send) fall due at once
 *      and email their person through a local SMTP server (bench/sync/smtp-sink.ts, its own
 *      process); sends/s is the number of emails over the time until the server has them all,
 *      next to the bare nodemailer loop (bench/sync/bare-loop.ts: the same messages, pre-rendered,
 *      through a pool with the destination's options) just before and just after, as bench:sync does;
 * and reads the Redis memory of its queue keys before loading, with every run waiting, and at the
 * end: timers live in Postgres, so it must not grow with the runs. Prints a table, writes
 * bench/results/journeys-<timestamp>.json and .md.
 */
import 'reflect-metadata';

import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Client } from 'pg';

import { createPersonae, Personae } from '../src/app.factory';
import { AppConfig, loadConfig } from '../src/config/app-config';
import { migrate } from '../src/database/migrator';
import { DeliveryWorkersService } from '../src/destinations/delivery-workers.service';
import { bullOptions } from '../src/queues/queue-connection';
import { QueueName } from '../src/queues/queue-names';
import { UnsubscribeLinks } from '../src/unsubscribe/unsubscribe-links';
import { ensureDatabase } from './generator/database';
import { machineInfo, redactUrl } from './generator/report';
import { bareLoop, BareResult, cpuMsSince } from './sync/bare-loop';
import { SinkClient } from './sync/sink-client';

const DEFAULT_URL = 'postgresql://postgres@127.0.0.1:5432/personae_bench_journeys';
const MONTH_MS = 30 * 86_400_000;
const WAIT_MS = 60 * 60_000;
/** The due window starts this long after the update that makes runs due begins. */
const LEAD_MS = 20_000;

const DEFINITION = {
  entry: { audience: 'bench-entry', includeCurrentMembers: false },
  reentry: 'never',
  exit: { when: null, onAudienceExit: false },
  quietHours: null,
  steps: [
    { id: 'wait', type: 'wait', duration: { amount: 60, unit: 'minutes' }, next: 'persona' },
    { id: 'persona', type: 'branch', condition: 'trait persona = "technical"', then: 'tech-done', else: 'done' },
    { id: 'tech-done', type: 'exit' },
    { id: 'done', type: 'exit' },
  ],
};

/** The sends phase's email: no audience in it (a journey send has none), the same for the bare loop. */
const TEMPLATE = {
  from: 'Acme <hello@acme.test>',
  subject: 'Welcome, {{ traits.name | default: "friend" }}',
  html: '<h1>Hi {{ traits.name }}</h1><p>Thanks for joining.</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
  text: 'Hi {{ traits.name }}, thanks for joining. Unsubscribe: {{ unsubscribe_url }}',
};
const POOL = 5;
const TARGET_SEND_RATIO = 0.7;

interface SendResult {
  emails: number;
  seconds: number;
  perSecond: number;
  bytesPerEmail: number;
  cpuMsPerEmail: number;
}

/**
 * `count` runs of a journey `wait → send` fall due at once (their wait ended); the scheduled
 * sweep sends them through the deliveries ledger and the delivery workers to the sink.
 */
async function sends(
  client: Client,
  personae: Personae,
  sink: SinkClient,
  workspaceId: string,
  count: number,
): Promise<SendResult> {
  const destinationId = randomUUID();
  const journeyId = randomUUID();
  await client.query(
    `INSERT INTO destinations (id, workspace_id, type, name, config, updated_at) VALUES ($1, $2, 'email', 'Bench', $3, now())`,
    [destinationId, workspaceId, JSON.stringify({ ...TEMPLATE, smtpUrl: sink.url, maxConnections: POOL })],
  );
  const definition = {
    ...DEFINITION,
    steps: [
      { id: 'wait', type: 'wait', duration: { amount: 60, unit: 'minutes' }, next: 'send' },
      { id: 'send', type: 'send', destination: destinationId, next: null },
    ],
  };
  await client.query(
    `INSERT INTO journeys (id, workspace_id, key, name, status, definition, activated_at, entries_scanned_until)
     VALUES ($1, $2, 'bench-send', 'Bench sends', 'active', $3, now(), now())`,
    [journeyId, workspaceId, JSON.stringify(definition)],
  );
  await client.query(`INSERT INTO journey_versions (journey_id, version, definition) VALUES ($1, 1, $2)`, [
    journeyId,
    JSON.stringify(definition),
  ]);
  // Recipients `j-send7@…` here and `j-bare7@…` in the bare loop: the same length, the same size.
  await client.query(
    `WITH people AS (
       INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
       SELECT gen_random_uuid(), $1, jsonb_build_object('email', 'j-send' || i || '@bench.test', 'name', 'Person ' || i),
              now(), now()
       FROM generate_series(1, $3::int) i RETURNING id)
     INSERT INTO journey_runs (id, workspace_id, journey_id, version, profile_id, active_profile_id, step_id,
                               step_entered_at, due_at, started_at)
     SELECT gen_random_uuid(), $1, $2, 1, id, id, 'wait', now() + interval '1 day', now() + interval '1 day', now()
     FROM people`,
    [workspaceId, journeyId, count],
  );
  const workers = personae.app.get(DeliveryWorkersService);
  const serving = await waitUntil(async () => workers.served().includes(destinationId), 30_000);
  if (!serving)
    throw new Error(`no delivery worker for the bench destination (served: ${workers.served().join(', ')})`);
  const before = { count: sink.count, bytes: sink.bytes, cpu: process.cpuUsage() };
  const started = Date.now();
  await client.query(
    `UPDATE journey_runs SET due_at = now(), step_entered_at = now() - interval '60 minutes' WHERE journey_id = $1`,
    [journeyId],
  );
  await sink.until(before.count + count, 600_000);
  const seconds = (sink.lastAt - started) / 1000;
  return {
    emails: count,
    seconds,
    perSecond: count / seconds,
    bytesPerEmail: (sink.bytes - before.bytes) / count,
    cpuMsPerEmail: cpuMsSince(before.cpu) / count,
  };
}

/** Two bare loops as one: their emails over their time. */
function bracketing(before: BareResult, after: BareResult): BareResult {
  const emails = before.emails + after.emails;
  const seconds = before.seconds + after.seconds;
  return {
    emails,
    seconds,
    perSecond: emails / seconds,
    bytesPerEmail: (before.bytesPerEmail + after.bytesPerEmail) / 2,
    cpuMsPerEmail: (before.cpuMsPerEmail + after.cpuMsPerEmail) / 2,
  };
}

function integer(value: string | undefined, fallback: number): number {
  const parsed = value === undefined ? fallback : Number(value.replace(/_/g, ''));
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw new Error(`not a whole number: ${value}`);
  return parsed;
}

async function rows<T extends object>(client: Client, text: string, values: unknown[] = []): Promise<T[]> {
  return (await client.query(text, values)).rows as T[];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Bytes held by this run's keys (the Redis server is shared, so its used_memory says little). */
async function redisMemory(redis: Redis, prefix: string): Promise<number> {
  let bytes = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) bytes += Number((await redis.memory('USAGE', key)) ?? 0);
  } while (cursor !== '0');
  return bytes;
}

/** A fresh journey with `runs` people waiting at its first step, due in a month. */
async function load(
  client: Client,
  runs: number,
): Promise<{ workspaceId: string; journeyId: string; seconds: number }> {
  const started = performance.now();
  const workspaceId = randomUUID();
  const journeyId = randomUUID();
  await client.query('TRUNCATE journeys, journey_runs, journey_run_steps, journey_versions CASCADE');
  await client.query(`DELETE FROM workspaces WHERE name = 'bench-journeys'`);
  await client.query(`INSERT INTO workspaces (id, name) VALUES ($1, 'bench-journeys')`, [workspaceId]);
  await client.query(
    `INSERT INTO journeys (id, workspace_id, key, name, status, definition, activated_at, entries_scanned_until)
     VALUES ($1, $2, 'bench', 'Bench', 'active', $3, now(), now())`,
    [journeyId, workspaceId, JSON.stringify(DEFINITION)],
  );
  await client.query(`INSERT INTO journey_versions (journey_id, version, definition) VALUES ($1, 1, $2)`, [
    journeyId,
    JSON.stringify(DEFINITION),
  ]);
  const chunk = 250_000;
  for (let from = 0; from < runs; from += chunk) {
    const n = Math.min(chunk, runs - from);
    await client.query(
      `WITH people AS (
         INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
         SELECT gen_random_uuid(), $1,
                jsonb_build_object('persona', CASE WHEN i % 2 = 0 THEN 'technical' ELSE 'marketer' END), now(), now()
         FROM generate_series(1, $3::int) i RETURNING id)
       INSERT INTO journey_runs (id, workspace_id, journey_id, version, profile_id, active_profile_id, step_id,
                                 step_entered_at, due_at, started_at)
       SELECT gen_random_uuid(), $1, $2, 1, id, id, 'wait', now() + $4 * interval '1 millisecond',
              now() + ($4 + $5) * interval '1 millisecond', now()
       FROM people`,
      [workspaceId, journeyId, n, MONTH_MS - WAIT_MS, WAIT_MS],
    );
  }
  await client.query('ANALYZE journey_runs');
  return { workspaceId, journeyId, seconds: (performance.now() - started) / 1000 };
}

/** Makes `count` waiting runs due at `at` + a uniform spread over `windowMs` (their wait began an hour before). */
async function makeDue(client: Client, count: number, at: number, windowMs: number): Promise<void> {
  await client.query(
    `WITH chosen AS (
       SELECT id, random() AS r FROM journey_runs WHERE status = 'active' AND due_at > now() + interval '1 day' LIMIT $1)
     UPDATE journey_runs j
     SET due_at = to_timestamp(($2 + c.r * $3) / 1000.0),
         step_entered_at = to_timestamp(($2 + c.r * $3 - $4) / 1000.0)
     FROM chosen c WHERE j.id = c.id`,
    [count, at, windowMs, WAIT_MS],
  );
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...body.map(line)].join('\n');
}

function benchConfig(url: string): AppConfig {
  return loadConfig({
    DATABASE_URL: url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    ADMIN_TOKEN: 'bench-admin-token-0123456789',
    QUEUE_PREFIX: `bench-journeys-${randomBytes(4).toString('hex')}`,
    ROLE: 'worker',
    PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ENV_FILE: 'none',
    // The sends phase's SMTP server listens on loopback.
    DESTINATION_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      due: { type: 'string' },
      window: { type: 'string' },
      backlog: { type: 'string' },
      sends: { type: 'string' },
      'database-url': { type: 'string' },
      'results-dir': { type: 'string' },
    },
  });
  const runs = integer(values.runs, 1_000_000);
  const due = Math.min(runs, integer(values.due, 50_000));
  const windowMs = integer(values.window, 30) * 1000;
  const backlog = Math.min(runs - due, integer(values.backlog, 200_000));
  const sendCount = integer(values.sends, 5_000);
  const url = values['database-url'] ?? process.env.BENCH_JOURNEYS_DATABASE_URL ?? DEFAULT_URL;
  const startedAt = new Date().toISOString();

  await ensureDatabase(url);
  await migrate(url);
  const client = new Client({ connectionString: url });
  await client.connect();
  const config = benchConfig(url);
  const redis = new Redis(config.REDIS_URL);
  const sink = await SinkClient.start();
  try {
    const redisBefore = await redisMemory(redis, config.QUEUE_PREFIX);
    console.log(`loading ${runs.toLocaleString()} waiting runs…`);
    const loaded = await load(client, runs);
    console.log(`loaded in ${loaded.seconds.toFixed(1)} s`);
    const personae = await createPersonae(config);
    let lateness: { p50: number; p95: number; p99: number; max: number; count: number; drainedSeconds: number | null };
    let throughput: { runs: number; steps: number; seconds: number; stepsPerSecond: number };
    let redisWaiting: number;
    let redisAfter: number;
    let send: { personae: SendResult; bare: BareResult; ratio: number } | null = null;
    try {
      redisWaiting = await redisMemory(redis, config.QUEUE_PREFIX);
      // 1. Lateness: `due` runs fall due over the window, which starts once their update is
      // committed (a later start than that would make them late before the sweep could see them).
      const first = Date.now() + LEAD_MS;
      const updating = performance.now();
      await makeDue(client, due, first, windowMs);
      const updateMs = performance.now() - updating;
      if (Date.now() > first) console.warn(`making runs due took ${updateMs.toFixed(0)} ms, past the window's start`);
      const drained = await waitUntil(
        async () =>
          Number(
            (await rows<{ n: string }>(client, `SELECT count(*) AS n FROM journey_runs WHERE status = 'completed'`))[0]!
              .n,
          ) >= due,
        windowMs + 300_000,
      );
      const drainedSeconds = drained ? (Date.now() - first) / 1000 : null;
      const late = await rows<{ ms: number }>(
        client,
        `SELECT extract(epoch FROM h.left_at - (h.entered_at + interval '60 minutes')) * 1000 AS ms
         FROM journey_run_steps h WHERE h.step_id = 'wait' AND h.outcome = 'passed'`,
      );
      const sorted = late.map((r) => Number(r.ms)).sort((a, b) => a - b);
      lateness = {
        p50: percentile(sorted, 50),
        p95: percentile(sorted, 95),
        p99: percentile(sorted, 99),
        max: sorted[sorted.length - 1] ?? 0,
        count: sorted.length,
        drainedSeconds,
      };
      // 2. Throughput: a backlog due at once.
      const stepsBefore = Number(
        (await rows<{ n: string }>(client, 'SELECT count(*) AS n FROM journey_run_steps'))[0]!.n,
      );
      const target = due + backlog;
      await makeDue(client, backlog, Date.now() - 1_000, 0);
      const started = performance.now();
      await waitUntil(
        async () =>
          Number(
            (await rows<{ n: string }>(client, `SELECT count(*) AS n FROM journey_runs WHERE status = 'completed'`))[0]!
              .n,
          ) >= target,
        1_800_000,
      );
      const seconds = (performance.now() - started) / 1000;
      const steps =
        Number((await rows<{ n: string }>(client, 'SELECT count(*) AS n FROM journey_run_steps'))[0]!.n) - stepsBefore;
      throughput = { runs: backlog, steps, seconds, stepsPerSecond: steps / seconds };
      redisAfter = await redisMemory(redis, config.QUEUE_PREFIX);
      // 3. Sends against the bare nodemailer loop, just before and just after.
      if (sendCount > 0) {
        const emailConfig = { ...TEMPLATE, smtpUrl: sink.url, maxConnections: POOL };
        const links = personae.app.get(UnsubscribeLinks);
        const bareBefore = await bareLoop(sink, emailConfig, sendCount, links, 'j-bare');
        const sent = await sends(client, personae, sink, loaded.workspaceId, sendCount);
        const bareAfter = await bareLoop(sink, emailConfig, sendCount, links, 'j-bare');
        const bare = bracketing(bareBefore, bareAfter);
        send = { personae: sent, bare, ratio: sent.perSecond / bare.perSecond };
      }
    } finally {
      await personae.close();
      for (const name of Object.values(QueueName)) {
        const queue = new Queue(name, bullOptions(config));
        await queue.obliterate({ force: true });
        await queue.close();
      }
    }

    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
    const summary = [
      `bench:journeys — ${runs.toLocaleString()} runs waiting; ${due.toLocaleString()} due over ${windowMs / 1000} s; backlog ${backlog.toLocaleString()}`,
      '',
      table(
        ['lateness of due wait steps', 'p50', 'p95', 'p99', 'max', 'runs'],
        [['due → passed', s(lateness.p50), s(lateness.p95), s(lateness.p99), s(lateness.max), String(lateness.count)]],
      ),
      '',
      table(
        ['throughput (wait → branch → exit)', 'runs', 'steps', 'seconds', 'steps/s'],
        [
          [
            'backlog due at once',
            String(throughput.runs),
            String(throughput.steps),
            throughput.seconds.toFixed(1),
            throughput.stepsPerSecond.toFixed(0),
          ],
        ],
      ),
      '',
      table(
        ["Redis memory of the bench's keys", 'before load', 'all runs waiting', 'after'],
        [['bytes', mb(redisBefore), mb(redisWaiting), mb(redisAfter)]],
      ),
      ...(send
        ? [
            '',
            table(
              ['sends (wait → send, SMTP on loopback)', 'emails', 'emails/s', 'B/email', 'CPU ms/email', 'goal'],
              [
                [
                  'bare nodemailer pool (limit)',
                  String(send.bare.emails),
                  send.bare.perSecond.toFixed(0),
                  send.bare.bytesPerEmail.toFixed(0),
                  send.bare.cpuMsPerEmail.toFixed(2),
                  '',
                ],
                [
                  'journey sends',
                  String(send.personae.emails),
                  send.personae.perSecond.toFixed(0),
                  send.personae.bytesPerEmail.toFixed(0),
                  send.personae.cpuMsPerEmail.toFixed(2),
                  '',
                ],
                [
                  'ratio to the bare loop',
                  '',
                  `${(send.ratio * 100).toFixed(0)} %`,
                  '',
                  '',
                  `≥ ${TARGET_SEND_RATIO * 100} % (as bench:sync)`,
                ],
              ],
            ),
          ]
        : []),
    ].join('\n');
    console.log(`\n${summary}`);
    const report = {
      kind: 'bench-journeys',
      startedAt,
      database: redactUrl(url),
      machine: machineInfo(),
      options: { runs, due, windowSeconds: windowMs / 1000, backlog, batch: config.JOURNEY_BATCH_SIZE },
      loadSeconds: loaded.seconds,
      latenessMs: lateness,
      throughput,
      redisKeyBytes: { before: redisBefore, waiting: redisWaiting, after: redisAfter },
      sends: send && {
        ...send,
        pool: POOL,
        target: { ratio: TARGET_SEND_RATIO, met: send.ratio >= TARGET_SEND_RATIO },
      },
    };
    const directory = values['results-dir'] ?? join(__dirname, 'results');
    await mkdir(directory, { recursive: true });
    const base = join(directory, `journeys-${startedAt.replace(/[:.]/g, '-')}`);
    await writeFile(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(`${base}.md`, `${summary}\n`);
    console.log(`\nreport: ${base}.json`);
  } finally {
    sink.stop();
    redis.disconnect();
    await client.end();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
