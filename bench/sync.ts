/**
 * `npm run bench:sync` — audience sync to email, measured at a real SMTP server on loopback (its own
 * process). Three numbers from one run (1 and 2 alternate for BENCH_ROUNDS rounds, bare loops on both
 * sides of every Personae round: on a shared, noisy machine whose speed drifts, a Personae round
 * compares with the bare loops just before and just after it, taken together; the table shows the
 * median round):
 *   1. bare loop: a nodemailer pooled transport (a destination's pool options) sending N messages,
 *      rendered beforehand by Personae's own code so that they are the ones the workers send, as
 *      fast as it can: the physical limit of this machine, this SMTP server and this pool size;
 *   2. Personae: N audience entries (membership, transition and delivery rows written in one
 *      statement, like the membership engine, then enqueued) until the last SMTP acceptance, through
 *      the delivery workers (claim, render, send, record) with the same pool size;
 *   3. event → email latency at light load: identify + track over /v1/batch until SMTP acceptance,
 *      through ingest, the membership engine and delivery (when the engine is in the tree).
 * Prints a table and writes bench/results/sync-<timestamp>.json.
 *
 *   4. segment: N audience transitions synced to a `segment` destination whose receiver is a local
 *      /v1/batch sink (its own process), members/s from the delivery rows until the sink has every
 *      message, next to a bare loop that reads the same transitions' members in one query, builds
 *      the same messages with Personae's builder and posts them (gzip, keep-alive) to the same sink.
 * Prints a table and writes bench/results/sync-<timestamp>.json.
 *
 * Knobs (env): BENCH_EMAILS (5000), BENCH_POOL (5), BENCH_ROUNDS (3), BENCH_EVENTS (100),
 * BENCH_EVENTS_RPS (10), BENCH_CPU_PROFILE (unset; a file for the CPU profile of the last Personae round),
 * BENCH_SEGMENT_MEMBERS (10000,50000: the sizes of audience change timed), BENCH_SEGMENT_ROUNDS (5), BENCH_SEGMENT_CONCURRENCY (4, requests at once in the bare loop),
 * BENCH_SYNC_ONLY (unset; `email` or `segment` to run one part), BENCH_SEGMENT_CPU_PROFILE (unset; a file for the last Personae round's CPU profile, and one with `-bare` in its name for the bare loop after it).
 */
import 'reflect-metadata';

import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

import { Client } from 'pg';

import { createPersonae } from '../src/app.factory';
import { loadConfig } from '../src/config/app-config';
import { UnsubscribeLinks } from '../src/unsubscribe/unsubscribe-links';
import { WorkspacesService } from '../src/workspaces/workspaces.service';
import { createTestDatabase } from '../test/support/database';
import { startCpuProfile } from './ingest/cpu-profile';
import { dropRedisKeys } from './support/redis-keys';
import { bareLoop, BareResult } from './sync/bare-loop';
import { BatchSinkClient } from './sync/batch-sink-client';
import { api, personaeSync, SyncResult } from './sync/personae-sync';
import { segmentBench } from './sync/segment-sync';
import { SinkClient } from './sync/sink-client';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const EMAILS = env('BENCH_EMAILS', 5_000);
const POOL = env('BENCH_POOL', 5);
const ROUNDS = env('BENCH_ROUNDS', 3);
const EVENTS = env('BENCH_EVENTS', 100);
const EVENTS_RPS = env('BENCH_EVENTS_RPS', 10);
const TARGET_RATIO = 0.7;
const TARGET_RATE = 500;
const TARGET_P95_MS = 2_000;
const SEGMENT_MEMBERS = (process.env.BENCH_SEGMENT_MEMBERS ?? '10000,50000').split(',').map(Number);
const SEGMENT_CONCURRENCY = env('BENCH_SEGMENT_CONCURRENCY', 4);
// A round of 10,000 takes half a second, so a median of five: one noisy neighbour moves a round by 20 %.
const SEGMENT_ROUNDS = env('BENCH_SEGMENT_ROUNDS', 5);
const SEGMENT_TARGET_RATIO = 0.8;
const ONLY = process.env.BENCH_SYNC_ONLY;

const TEMPLATE = {
  from: 'Acme <hello@acme.test>',
  subject: 'Welcome, {{ traits.name | default: "friend" }}',
  html: '<h1>Hi {{ traits.name }}</h1><p>Thanks for joining {{ audience.name }}.</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
  text: 'Hi {{ traits.name }}, thanks for joining {{ audience.name }}. Unsubscribe: {{ unsubscribe_url }}',
};

interface Round {
  bare: BareResult;
  personae: SyncResult;
  ratio: number;
}

/** Two bare loops as one: their emails over their time, their CPU per email averaged. */
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

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function eventToEmail(sink: SinkClient, base: string, token: string, writeKey: string) {
  const audience = await fetch(`${base}/api/audiences`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key: 'signed_up', name: 'Signed up', definition: 'performed "Signed Up"' }),
  });
  if (!audience.ok) return { available: false as const, reason: `POST /api/audiences answered ${audience.status}` };
  const { id: audienceId } = (await audience.json()) as { id: string };
  const destination = await api(base, token, 'POST', '/api/destinations', {
    type: 'email',
    name: 'Signed up',
    config: { ...TEMPLATE, smtpUrl: sink.url, maxConnections: POOL },
  });
  await api(base, token, 'POST', `/api/audiences/${audienceId}/destinations`, { destinationId: destination.id });
  await new Promise((r) => setTimeout(r, 2_000));
  const sentAt = new Map<string, number>();
  const basic = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
  for (let i = 0; i < EVENTS; i++) {
    const email = `event${i}@bench.test`;
    const userId = `bench-user-${i}`;
    sentAt.set(email, Date.now());
    const response = await fetch(`${base}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: [
          {
            type: 'identify',
            userId,
            traits: { email, name: `Person ${i}` },
            messageId: `bi-${i}-${randomBytes(4).toString('hex')}`,
          },
          { type: 'track', userId, event: 'Signed Up', messageId: `bt-${i}-${randomBytes(4).toString('hex')}` },
        ],
      }),
    });
    if (!response.ok) throw new Error(`/v1/batch: ${response.status}`);
    await new Promise((r) => setTimeout(r, 1000 / EVENTS_RPS));
  }
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && [...sentAt.keys()].some((e) => !sink.acceptedAt.has(e))) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const latencies = [...sentAt]
    .map(([email, at]) => (sink.acceptedAt.get(email)?.[0] ?? Number.NaN) - at)
    .filter((ms) => Number.isFinite(ms))
    .sort((a, b) => a - b);
  return {
    available: true as const,
    events: EVENTS,
    rps: EVENTS_RPS,
    delivered: latencies.length,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    maxMs: latencies[latencies.length - 1] ?? Number.NaN,
  };
}

async function main(): Promise<void> {
  const sink = await SinkClient.start();
  const batchSink = await BatchSinkClient.start();
  const database = await createTestDatabase('personae_bench');
  const config = loadConfig({
    DATABASE_URL: database.url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    ADMIN_TOKEN: 'bench-admin-token-0123456789',
    QUEUE_PREFIX: `bench-${randomBytes(4).toString('hex')}`,
    ROLE: 'all',
    PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    // The SMTP and /v1/batch sinks listen on loopback.
    DESTINATION_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
  });
  const personae = await createPersonae(config);
  const db = new Client({ connectionString: database.url });
  await db.connect();
  try {
    await personae.http!.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${(personae.http!.getHttpServer().address() as AddressInfo).port}`;
    // Two workspaces: the sync phase's audience rows are written directly (no definition), and
    // must not be evaluated by the membership engine when the event phase's events arrive.
    const workspaces = personae.app.get(WorkspacesService);
    const { workspace, apiToken } = await workspaces.create('Bench sync', 'Bench source');
    const events = await workspaces.create('Bench events', 'Bench source');

    const directory = join(__dirname, 'results');
    mkdirSync(directory, { recursive: true });
    const segment =
      ONLY === 'email'
        ? undefined
        : await segmentBench(
            { personae, db, sink: batchSink, base, token: apiToken, workspaceId: workspace.id },
            SEGMENT_MEMBERS,
            SEGMENT_ROUNDS,
            SEGMENT_CONCURRENCY,
            SEGMENT_TARGET_RATIO,
          );
    if (ONLY === 'segment' && segment) {
      const width = Math.max(...segment.rows.map((r) => r[0].length));
      const load = loadavg().map((n) => n.toFixed(2));
      process.stdout.write(
        [
          `bench:sync (segment only)  ${cpus().length} CPUs  ${cpus()[0]?.model ?? ''}  load average ${load.join(' ')}`,
          ...segment.rows.map((r) => `${r[0].padEnd(width)}  ${r[1].padStart(18)}  ${r[2]}`),
        ].join('\n') + '\n',
      );
      const at = new Date().toISOString();
      const file = join(directory, `sync-${at.replace(/[:.]/g, '-')}.json`);
      const machine = { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadAverage: loadavg() };
      const settings = {
        segmentRounds: SEGMENT_ROUNDS,
        segmentMembers: SEGMENT_MEMBERS,
        segmentConcurrency: SEGMENT_CONCURRENCY,
      };
      writeFileSync(file, `${JSON.stringify({ at, machine, settings, segment: segment.report }, null, 2)}\n`);
      process.stdout.write(`wrote ${file}\n`);
      return;
    }

    const emailConfig = { ...TEMPLATE, smtpUrl: sink.url, maxConnections: POOL };
    const bench = { personae, db, sink, base, token: apiToken, workspaceId: workspace.id, config: emailConfig };
    const links = personae.app.get(UnsubscribeLinks);
    const rounds: Round[] = [];
    let before = await bareLoop(sink, emailConfig, EMAILS, links, 'r0-bare');
    for (let round = 1; round <= ROUNDS; round++) {
      // Recipients `r1-bare7@…` and `r1-sync7@…`: the same length, so the same message size.
      const profile = process.env.BENCH_CPU_PROFILE && round === ROUNDS ? await startCpuProfile() : undefined;
      const personaeRound = await personaeSync({ ...bench, emails: EMAILS }, `r${round}-sync`);
      if (profile && process.env.BENCH_CPU_PROFILE) await profile.stop(process.env.BENCH_CPU_PROFILE);
      const after = await bareLoop(sink, emailConfig, EMAILS, links, `r${round}-bare`);
      const bare = bracketing(before, after);
      const legs = `${before.perSecond.toFixed(0)} & ${after.perSecond.toFixed(0)}`;
      before = after;
      rounds.push({ bare, personae: personaeRound, ratio: personaeRound.perSecond / bare.perSecond });
      process.stdout.write(
        `round ${round}: bare ${bare.perSecond.toFixed(0)}/s (${legs}), Personae ${personaeRound.perSecond.toFixed(0)}/s, ` +
          `${((personaeRound.perSecond / bare.perSecond) * 100).toFixed(0)} %, ` +
          `CPU ${bare.cpuMsPerEmail.toFixed(2)} / ${personaeRound.cpuMsPerEmail.toFixed(2)} ms per email ` +
          `(+ Postgres ${personaeRound.postgresCpuMsPerEmail.toFixed(2)} ms)\n`,
      );
    }
    const e2e = await eventToEmail(sink, base, events.apiToken, events.source.writeKey);
    const median = [...rounds].sort((x, y) => x.ratio - y.ratio)[Math.floor((rounds.length - 1) / 2)]!;
    const { bare, personae: sync, ratio } = median;
    const duplicates = rounds.reduce((n, r) => n + r.personae.duplicates, 0);
    const sentRecorded = rounds.reduce((n, r) => n + r.personae.sentRecorded, 0);

    const rows: [string, string, string][] = [
      [
        'bare nodemailer pool (limit)',
        `${bare.perSecond.toFixed(0)} emails/s`,
        `${bare.emails} in ${bare.seconds.toFixed(2)} s`,
      ],
      [
        'Personae entry → SMTP accept',
        `${sync.perSecond.toFixed(0)} emails/s`,
        `${sync.emails} in ${sync.seconds.toFixed(2)} s (rows+enqueue ${sync.enqueuedMs} ms)`,
      ],
      [
        'ratio to the bare loop',
        `${(ratio * 100).toFixed(0)} %`,
        `median of ${rounds.length} (${rounds.map((r) => `${(r.ratio * 100).toFixed(0)} %`).join(', ')}); ` +
          `target ≥ ${TARGET_RATIO * 100} % and ≥ ${TARGET_RATE}/s`,
      ],
      [
        'message size bare / Personae',
        `${bare.bytesPerEmail.toFixed(0)} / ${sync.bytesPerEmail.toFixed(0)} B`,
        'the same messages, the same pool options',
      ],
      [
        'CPU per email bare / Personae',
        `${bare.cpuMsPerEmail.toFixed(2)} / ${sync.cpuMsPerEmail.toFixed(2)} ms`,
        'this process only (not Postgres, Redis or the SMTP server)',
      ],
      [
        'Postgres CPU per email, Personae',
        `${sync.postgresCpuMsPerEmail.toFixed(2)} ms`,
        'claim and outcome statements, on the core the SMTP server also needs',
      ],
      [
        'duplicates / sent recorded',
        `${duplicates} / ${sentRecorded}`,
        `all rounds; exactly once: 0 and ${EMAILS * rounds.length}`,
      ],
      e2e.available
        ? [
            'event → email p50 / p95',
            `${e2e.p50Ms} / ${e2e.p95Ms} ms`,
            `${e2e.delivered}/${e2e.events} at ${e2e.rps}/s, target p95 ≤ ${TARGET_P95_MS} ms`,
          ]
        : ['event → email', 'n/a', e2e.reason],
      ...(segment?.rows ?? []),
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    const load = loadavg().map((n) => n.toFixed(2));
    const lines = [
      `bench:sync  pool ${POOL}  ${cpus().length} CPUs  ${cpus()[0]?.model ?? ''}  load average ${load.join(' ')}`,
      ...rows.map((r) => `${r[0].padEnd(width)}  ${r[1].padStart(16)}  ${r[2]}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);

    const report = {
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadAverage: loadavg() },
      settings: {
        emails: EMAILS,
        pool: POOL,
        rounds: ROUNDS,
        events: EVENTS,
        eventsRps: EVENTS_RPS,
        segmentMembers: SEGMENT_MEMBERS,
        segmentConcurrency: SEGMENT_CONCURRENCY,
      },
      rounds,
      bare,
      personae: sync,
      ratio,
      duplicates,
      eventToEmail: e2e,
      segment: segment?.report,
      targets: {
        ratio: { target: TARGET_RATIO, met: ratio >= TARGET_RATIO },
        rate: { target: TARGET_RATE, met: sync.perSecond >= TARGET_RATE },
        p95: { target: TARGET_P95_MS, met: e2e.available ? e2e.p95Ms <= TARGET_P95_MS : null },
      },
    };
    const file = join(directory, `sync-${report.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`wrote ${file}\n`);
  } finally {
    await db.end();
    await personae.close();
    await database.drop();
    await dropRedisKeys(config.REDIS_URL, config.QUEUE_PREFIX);
    sink.stop();
    batchSink.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
