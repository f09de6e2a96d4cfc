/**
 * `npm run bench:sync` — audience sync to email, measured at a real SMTP server on loopback (its own
 * process). Three numbers from one run:
 *   1. bare loop: a nodemailer pooled transport sending N pre-rendered messages as fast as it can,
 *      the physical limit of this machine, this SMTP server and this pool size;
 *   2. Personae: N audience entries (membership, transition and delivery rows written in one
 *      statement, like the membership engine, then enqueued) until the last SMTP acceptance, through
 *      the delivery workers (claim, render, send, record) with the same pool size;
 *   3. event → email latency at light load: identify + track over /v1/batch until SMTP acceptance,
 *      through ingest, the membership engine and delivery (when the engine is in the tree).
 * Prints a table and writes bench/results/sync-<timestamp>.json.
 *
 * Knobs (env): BENCH_EMAILS (5000), BENCH_POOL (5), BENCH_EVENTS (100), BENCH_EVENTS_RPS (10).
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { Client } from 'pg';
import { createPersonae, Personae } from '../src/app.factory';
import { loadConfig } from '../src/config/app-config';
import { DeliveryWorkersService } from '../src/destinations/delivery-workers.service';
import { DeliveryQueuesService, DeliveryRef } from '../src/queues/delivery-queues.service';
import { WorkspacesService } from '../src/workspaces/workspaces.service';
import { createTestDatabase } from '../test/support/database';
import { SinkClient } from './sync/sink-client';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const EMAILS = env('BENCH_EMAILS', 5_000);
const POOL = env('BENCH_POOL', 5);
const EVENTS = env('BENCH_EVENTS', 100);
const EVENTS_RPS = env('BENCH_EVENTS_RPS', 10);
const TARGET_RATIO = 0.7;
const TARGET_RATE = 500;
const TARGET_P95_MS = 2_000;

const TEMPLATE = {
  from: 'Acme <hello@acme.test>',
  subject: 'Welcome, {{ traits.name | default: "friend" }}',
  html: '<h1>Hi {{ traits.name }}</h1><p>Thanks for joining {{ audience.name }}.</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
  text: 'Hi {{ traits.name }}, thanks for joining {{ audience.name }}. Unsubscribe: {{ unsubscribe_url }}',
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function bareLoop(sink: SinkClient): Promise<{ emails: number; seconds: number; perSecond: number }> {
  const transport = nodemailer.createTransport({
    pool: true,
    url: sink.url,
    maxConnections: POOL,
    maxMessages: 1_000,
    maxRequeues: 0,
  });
  const before = sink.count;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: EMAILS }, (_, i) =>
      transport.sendMail({
        from: TEMPLATE.from,
        to: `bare${i}@bench.test`,
        subject: `Welcome, Person ${i}`,
        html: `<h1>Hi Person ${i}</h1><p>Thanks for joining Bench.</p><p><a href="http://localhost/u/x">Unsubscribe</a></p>`,
        text: `Hi Person ${i}, thanks for joining Bench. Unsubscribe: http://localhost/u/x`,
        messageId: `<bare-${i}@acme.test>`,
        headers: {
          'List-Unsubscribe': '<http://localhost/u/x>',
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        },
      }),
    ),
  );
  await sink.until(before + EMAILS, 120_000);
  transport.close();
  const seconds = (sink.lastAt - started) / 1000;
  return { emails: EMAILS, seconds, perSecond: EMAILS / seconds };
}

async function api(base: string, token: string, path: string, body: unknown): Promise<{ id: string }> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string };
}

async function personaeSync(
  personae: Personae,
  db: Client,
  sink: SinkClient,
  base: string,
  workspaceId: string,
  token: string,
) {
  const [audience] = (
    await db.query<{ id: string }>(
      `INSERT INTO audiences (id, workspace_id, key, name, definition_ast, definition_text, status)
       VALUES (gen_random_uuid(), $1, 'bench_sync', 'Bench', '{}', 'bench', 'ready') RETURNING id`,
      [workspaceId],
    )
  ).rows;
  await db.query(
    `INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
     SELECT gen_random_uuid(), $1, jsonb_build_object('email', 'sync' || i || '@bench.test', 'name', 'Person ' || i), now(), now()
     FROM generate_series(1, $2) i`,
    [workspaceId, EMAILS],
  );
  const destination = await api(base, token, '/api/destinations', {
    type: 'email',
    name: 'Bench',
    config: { ...TEMPLATE, smtpUrl: sink.url, maxConnections: POOL },
  });
  await api(base, token, `/api/audiences/${audience!.id}/destinations`, { destinationId: destination.id });
  const workers = personae.app.get(DeliveryWorkersService);
  while (!workers.served().includes(destination.id)) await new Promise((r) => setTimeout(r, 50));

  const before = sink.count;
  const started = Date.now();
  // What the membership engine writes for N entries, in one statement, then enqueues.
  const { rows } = await db.query<DeliveryRef>(
    `WITH members AS (
       INSERT INTO audience_members (audience_id, profile_id, entered_at)
       SELECT $2, p.id, now() FROM profiles p WHERE p.workspace_id = $1 AND p.traits->>'email' LIKE 'sync%'
       RETURNING profile_id
     ), transitions AS (
       INSERT INTO audience_transitions (workspace_id, audience_id, profile_id, kind, at, audience_version)
       SELECT $1, $2, profile_id, 'entered', now(), 1 FROM members RETURNING id
     )
     INSERT INTO deliveries (id, workspace_id, destination_id, transition_id)
     SELECT gen_random_uuid(), $1, $3, id FROM transitions
     RETURNING id, destination_id AS "destinationId"`,
    [workspaceId, audience!.id, destination.id],
  );
  const queues = personae.app.get(DeliveryQueuesService);
  for (let i = 0; i < rows.length; i += 1_000) await queues.enqueue(rows.slice(i, i + 1_000));
  const enqueuedMs = Date.now() - started;
  await sink.until(before + EMAILS, 300_000);
  const seconds = (sink.lastAt - started) / 1000;
  // Exactly once: one acceptance per recipient, and Postgres agrees.
  let duplicates = 0;
  for (let i = 1; i <= EMAILS; i++)
    duplicates += Math.max(0, (sink.acceptedAt.get(`sync${i}@bench.test`)?.length ?? 0) - 1);
  await new Promise((r) => setTimeout(r, 500));
  const sent = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM deliveries WHERE destination_id = $1 AND status = 'sent'`,
    [destination.id],
  );
  return {
    emails: EMAILS,
    seconds,
    perSecond: EMAILS / seconds,
    enqueuedMs,
    duplicates,
    sentRecorded: sent.rows[0]?.n ?? 0,
  };
}

async function eventToEmail(sink: SinkClient, base: string, token: string, writeKey: string) {
  const audience = await fetch(`${base}/api/audiences`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key: 'signed_up', name: 'Signed up', definition: 'performed "Signed Up"' }),
  });
  if (!audience.ok) return { available: false as const, reason: `POST /api/audiences answered ${audience.status}` };
  const { id: audienceId } = (await audience.json()) as { id: string };
  const destination = await api(base, token, '/api/destinations', {
    type: 'email',
    name: 'Signed up',
    config: { ...TEMPLATE, smtpUrl: sink.url, maxConnections: POOL },
  });
  await api(base, token, `/api/audiences/${audienceId}/destinations`, { destinationId: destination.id });
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
  const database = await createTestDatabase('personae_bench');
  const config = loadConfig({
    DATABASE_URL: database.url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    ADMIN_TOKEN: 'bench-admin-token-0123456789',
    QUEUE_PREFIX: `bench-${randomBytes(4).toString('hex')}`,
    ROLE: 'all',
    PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
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

    const bare = await bareLoop(sink);
    const sync = await personaeSync(personae, db, sink, base, workspace.id, apiToken);
    const e2e = await eventToEmail(sink, base, events.apiToken, events.source.writeKey);
    const ratio = sync.perSecond / bare.perSecond;

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
        `target ≥ ${TARGET_RATIO * 100} % and ≥ ${TARGET_RATE}/s`,
      ],
      ['duplicates / sent recorded', `${sync.duplicates} / ${sync.sentRecorded}`, 'exactly once: 0 and N'],
      e2e.available
        ? [
            'event → email p50 / p95',
            `${e2e.p50Ms} / ${e2e.p95Ms} ms`,
            `${e2e.delivered}/${e2e.events} at ${e2e.rps}/s, target p95 ≤ ${TARGET_P95_MS} ms`,
          ]
        : ['event → email', 'n/a', e2e.reason],
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    const lines = [
      `bench:sync  pool ${POOL}  ${cpus().length} CPUs  ${cpus()[0]?.model ?? ''}`,
      ...rows.map((r) => `${r[0].padEnd(width)}  ${r[1].padStart(16)}  ${r[2]}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);

    const report = {
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
      settings: { emails: EMAILS, pool: POOL, events: EVENTS, eventsRps: EVENTS_RPS },
      bare,
      personae: sync,
      ratio,
      eventToEmail: e2e,
      targets: {
        ratio: { target: TARGET_RATIO, met: ratio >= TARGET_RATIO },
        rate: { target: TARGET_RATE, met: sync.perSecond >= TARGET_RATE },
        p95: { target: TARGET_P95_MS, met: e2e.available ? e2e.p95Ms <= TARGET_P95_MS : null },
      },
    };
    const directory = join(__dirname, 'results');
    mkdirSync(directory, { recursive: true });
    const file = join(directory, `sync-${report.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`wrote ${file}\n`);
  } finally {
    await db.end();
    await personae.close();
    await database.drop();
    sink.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
