/**
 * `npm run bench:ingest` — sustained ingest through /v1/batch against a real listening server,
 * next to a raw COPY of the same rows into the same table, then the latency of single /v1/track
 * calls at moderate load. Prints a table and writes bench/results/ingest-<timestamp>.json.
 *
 * Knobs (env): BENCH_DURATION_S (20), BENCH_CONCURRENCY (8), BENCH_BATCH (100),
 * BENCH_PEOPLE (50000), BENCH_LATENCY_RPS (100), BENCH_LATENCY_S (15), BENCH_ROUNDS (4: ingest and COPY
 * alternate, DURATION_S / ROUNDS of ingest then a COPY of as many rows, at least 20,000), BENCH_KEEP_DB (unset),
 * BENCH_CPU_PROFILE (unset; a file to write the server's CPU profile of the ingest phase to).
 */
import 'reflect-metadata';

import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { Client } from 'pg';

import { createPersonae } from '../src/app.factory';
import { loadConfig } from '../src/config/app-config';
import { createTestDatabase } from '../test/support/database';
import { copyBaseline, copyRows } from './ingest/copy-baseline';
import { startCpuProfile } from './ingest/cpu-profile';
import type { LoadJob, LoadResult } from './ingest/load-client';
import { backendCpu, cpuBetween } from './ingest/postgres-cpu';
import { dropRedisKeys } from './support/redis-keys';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const DURATION_S = env('BENCH_DURATION_S', 20);
const CONCURRENCY = env('BENCH_CONCURRENCY', 8);
const BATCH = env('BENCH_BATCH', 100);
const PEOPLE = env('BENCH_PEOPLE', 50_000);
const LATENCY_RPS = env('BENCH_LATENCY_RPS', 100);
const LATENCY_S = env('BENCH_LATENCY_S', 15);
const ROUNDS = env('BENCH_ROUNDS', 4);
const ADMIN_TOKEN = 'bench-admin-token-0123456789';

function runLoad(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'ingest', 'load-client.ts'), [], {
      execArgv: ['-r', '@swc-node/register'],
    });
    child.once('message', (result) => resolve(result as LoadResult));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`load client exited with ${code}`))));
    child.send(job);
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Transactions Postgres rolled back in this database (its statistics lag by up to a second). */
async function rolledBack(sql: Client): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const { rows } = await sql.query<{ n: string }>(
    'SELECT xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(rows[0]?.n ?? 0);
}

/** Profile updates so far, and how many of them were HOT (same page, no index entries). */
async function profileUpdates(sql: Client): Promise<{ updates: number; hot: number }> {
  const { rows } = await sql.query<{ updates: string; hot: string }>(
    "SELECT n_tup_upd AS updates, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relname = 'profiles'",
  );
  return { updates: Number(rows[0]?.updates ?? 0), hot: Number(rows[0]?.hot ?? 0) };
}

async function main(): Promise<void> {
  const database = await createTestDatabase('personae_bench');
  const config = loadConfig({
    DATABASE_URL: database.url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    ADMIN_TOKEN,
    QUEUE_PREFIX: `bench-${randomBytes(4).toString('hex')}`,
    ROLE: 'api',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const personae = await createPersonae(config);
  const http = personae.http;
  if (!http) throw new Error('the api role serves HTTP');
  await http.listen(0, '127.0.0.1');
  const { port } = http.getHttpServer().address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const sql = new Client({ connectionString: database.url });
  await sql.connect();

  try {
    const created = await fetch(`${baseUrl}/api/workspaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Bench' }),
    });
    const { workspace, source } = (await created.json()) as {
      workspace: { id: string };
      source: { id: string; writeKey: string };
    };
    // The benchmark measures the write path, not the rate limiter's refusals.
    await sql.query(
      `UPDATE workspaces SET settings = '{"tracking":{"rateLimitPerSecond":10000000,"bytesPerSecond":10000000000}}' WHERE id = $1`,
      [workspace.id],
    );

    const load = (mode: LoadJob['mode'], runId: string, durationMs: number, prebuiltEvents = 0): Promise<LoadResult> =>
      runLoad({
        mode,
        baseUrl,
        writeKey: source.writeKey,
        runId,
        durationMs,
        concurrency: mode === 'latency' ? 4 : CONCURRENCY,
        batchSize: BATCH,
        ratePerSecond: LATENCY_RPS,
        people: PEOPLE,
        prebuiltEvents,
      });

    process.stdout.write(`warming up (people: ${PEOPLE}, batch: ${BATCH}, clients: ${CONCURRENCY})…\n`);
    const warm = await load('throughput', 'warm', 5_000);
    // Each round's requests are built before its clock starts, as the COPY's rows are: twice as many
    // as the warm-up's rate would send, the rest (counted) built while the clock runs.
    const roundMs = (DURATION_S * 1000) / ROUNDS;
    const prebuiltEvents = Math.ceil(((warm.events * 1000) / warm.elapsedMs) * 2 * (roundMs / 1000));

    // Ingest and COPY alternate in rounds, so that both meet the same moments of a shared, noisy
    // machine: measured one after the other, a neighbour busy during one phase only moved the ratio
    // by a fifth between runs.
    process.stdout.write(
      `ingest through /v1/batch for ${DURATION_S} s, in ${ROUNDS} rounds each followed by a COPY…\n`,
    );
    const rollbacksBefore = await rolledBack(sql);
    const updatesBefore = await profileUpdates(sql);
    const profileIds = (await sql.query<{ id: string }>('SELECT id FROM profiles LIMIT 50000')).rows.map((r) => r.id);
    const profile = process.env.BENCH_CPU_PROFILE ? await startCpuProfile() : undefined;
    const ingest = {
      events: 0,
      requests: 0,
      failures: 0,
      elapsedMs: 0,
      cpuMs: 0,
      builtDuringRun: 0,
      statuses: {} as Record<string, number>,
    };
    const copy = { rows: 0, elapsedMs: 0, postgresCpuMs: 0 };
    const roundRatios: number[] = [];
    const batchLatencies: number[] = [];
    let serverCpuMicros = 0;
    let postgresMs = 0;
    let eventLoop = { active: 0, idle: 0 };
    for (let round = 1; round <= ROUNDS; round += 1) {
      const eluBefore = performance.eventLoopUtilization();
      const cpuBefore = process.cpuUsage();
      const postgresBefore = await backendCpu(sql);
      const part = await load('throughput', `api-${round}`, roundMs, prebuiltEvents);
      const elu = performance.eventLoopUtilization(eluBefore);
      postgresMs += cpuBetween(postgresBefore, await backendCpu(sql));
      const cpu = process.cpuUsage(cpuBefore);
      serverCpuMicros += cpu.user + cpu.system;
      eventLoop = { active: eventLoop.active + elu.active, idle: eventLoop.idle + elu.idle };
      ingest.events += part.events;
      ingest.requests += part.requests;
      ingest.failures += part.failures;
      ingest.elapsedMs += part.elapsedMs;
      ingest.cpuMs += part.cpuMs;
      ingest.builtDuringRun += part.builtDuringRun;
      for (const [status, n] of Object.entries(part.statuses))
        ingest.statuses[status] = (ingest.statuses[status] ?? 0) + n;
      for (const latency of part.latenciesMs) batchLatencies.push(latency);

      const rows = Math.max(20_000, part.events);
      const chunks = copyRows(workspace.id, source.id, profileIds, `copy-${round}`, rows, PEOPLE);
      const copied = await copyBaseline(database.url, chunks, rows);
      copy.rows += rows;
      copy.elapsedMs += copied.elapsedMs;
      copy.postgresCpuMs += copied.postgresCpuMs;
      roundRatios.push((part.events * 1000) / part.elapsedMs / copied.rowsPerSecond);
      process.stdout.write(
        `  round ${round}: ${Math.round((part.events * 1000) / part.elapsedMs)} events/s, COPY ${Math.round(copied.rowsPerSecond)} rows/s\n`,
      );
    }
    if (profile && process.env.BENCH_CPU_PROFILE) await profile.stop(process.env.BENCH_CPU_PROFILE);
    // How busy the server's event loop was: near 1 means Node, not Postgres, is the bottleneck.
    const serverEventLoop = eventLoop.active / Math.max(1, eventLoop.active + eventLoop.idle);
    // CPU the server spent per 1,000 events stored: unlike throughput, barely moved by other load.
    const serverCpuMsPer1000 = ingest.events > 0 ? serverCpuMicros / ingest.events : Number.NaN;
    const apiRate = (ingest.events * 1000) / ingest.elapsedMs;
    const copyRate = (copy.rows * 1000) / copy.elapsedMs;
    const loadClientCpuMsPer1000 = (ingest.cpuMs * 1000) / Math.max(1, ingest.events);
    const postgresCpuMsPer1000 = (postgresMs * 1000) / Math.max(1, ingest.events);
    const totalCpuMsPer1000 = serverCpuMsPer1000 + loadClientCpuMsPer1000 + postgresCpuMsPer1000;
    batchLatencies.sort((a, b) => a - b);
    // Statements that lost a race (and ran again): every one is a whole batch written for nothing.
    const lostRaces = (await rolledBack(sql)) - rollbacksBefore;
    // Read after rolledBack's wait, like it: table statistics also lag by up to a second.
    const updatesAfter = await profileUpdates(sql);
    const profileUpdateCount = updatesAfter.updates - updatesBefore.updates;
    const hotShare = profileUpdateCount > 0 ? (updatesAfter.hot - updatesBefore.hot) / profileUpdateCount : Number.NaN;

    process.stdout.write(`single /v1/track at ${LATENCY_RPS} requests/s for ${LATENCY_S} s…\n`);
    const single = await load('latency', 'single', LATENCY_S * 1000);
    const latencies = [...single.latenciesMs].sort((a, b) => a - b);

    const stored = await sql.query<{ n: string }>('SELECT count(*) AS n FROM events');
    const results = {
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
      settings: {
        durationSeconds: DURATION_S,
        rounds: ROUNDS,
        clients: CONCURRENCY,
        batchSize: BATCH,
        people: PEOPLE,
        logLevel: config.LOG_LEVEL,
      },
      ingest: {
        events: ingest.events,
        requests: ingest.requests,
        failures: ingest.failures,
        statuses: ingest.statuses,
        eventsPerSecond: Math.round(apiRate),
        batchLatencyMs: { p50: percentile(batchLatencies, 50), p99: percentile(batchLatencies, 99) },
        serverEventLoopUtilization: serverEventLoop,
        rolledBackStatements: lostRaces,
        profileUpdates: profileUpdateCount,
        hotProfileUpdateShare: hotShare,
        serverCpuMsPer1000Events: serverCpuMsPer1000,
        loadClientCpuMsPer1000Events: loadClientCpuMsPer1000,
        prebuiltEventsPerRound: prebuiltEvents,
        requestsBuiltDuringRun: ingest.builtDuringRun,
        postgresCpuMsPer1000Events: postgresCpuMsPer1000,
        // Server, load generator and Postgres share this machine's cores: whatever the scheduling,
        // ingest cannot go faster than the cores divided by the CPU all three spend per event.
        totalCpuMsPer1000Events: totalCpuMsPer1000,
        cpuCeilingEventsPerSecond: Math.round((cpus().length * 1_000_000) / totalCpuMsPer1000),
      },
      copy: {
        rows: copy.rows,
        eventsPerSecond: Math.round(copyRate),
        elapsedMs: Math.round(copy.elapsedMs),
        postgresCpuMsPer1000Rows: (copy.postgresCpuMs * 1000) / copy.rows,
      },
      ratio: apiRate / copyRate,
      roundRatios,
      singleTrack: {
        requests: single.requests,
        failures: single.failures,
        ratePerSecond: LATENCY_RPS,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxMs: latencies[latencies.length - 1] ?? Number.NaN,
      },
      eventsStored: Number(stored.rows[0]?.n ?? 0),
    };

    const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits });
    const table = [
      ['metric', 'value', 'target'],
      ['ingest via /v1/batch (events/s)', fmt(results.ingest.eventsPerSecond), '≥ 20,000'],
      ['raw COPY (events/s)', fmt(results.copy.eventsPerSecond), ''],
      ['ingest / COPY', `${fmt(results.ratio * 100, 1)} %`, '≥ 50 %'],
      ['ingest / COPY by round', roundRatios.map((r) => `${fmt(r * 100, 1)} %`).join(' / '), ''],
      [
        'batch request p50 / p99 (ms)',
        `${fmt(results.ingest.batchLatencyMs.p50, 1)} / ${fmt(results.ingest.batchLatencyMs.p99, 1)}`,
        '',
      ],
      [`single /v1/track p50 (ms) @ ${LATENCY_RPS}/s`, fmt(results.singleTrack.p50Ms, 2), ''],
      [`single /v1/track p99 (ms) @ ${LATENCY_RPS}/s`, fmt(results.singleTrack.p99Ms, 2), '≤ 20'],
      ['server event loop busy during ingest', `${fmt(serverEventLoop * 100, 0)} %`, ''],
      ['server CPU per 1,000 events (ms)', fmt(serverCpuMsPer1000, 1), ''],
      [
        'load client CPU per 1,000 events (ms), requests built on the clock',
        `${fmt(results.ingest.loadClientCpuMsPer1000Events, 1)}, ${fmt(ingest.builtDuringRun)} of ${fmt(ingest.requests)}`,
        '',
      ],
      [
        'Postgres CPU per 1,000 events (ms): API / COPY',
        `${fmt(results.ingest.postgresCpuMsPer1000Events, 1)} / ${fmt(results.copy.postgresCpuMsPer1000Rows, 1)}`,
        '',
      ],
      [
        'CPU per 1,000 events, all three (ms) → ceiling here',
        `${fmt(results.ingest.totalCpuMsPer1000Events, 1)} → ${fmt(results.ingest.cpuCeilingEventsPerSecond)} events/s`,
        '',
      ],
      [
        'profile updates per 1,000 events, HOT share',
        `${fmt((profileUpdateCount * 1000) / Math.max(1, ingest.events))}, ${fmt(hotShare * 100)} %`,
        '',
      ],
      ['rolled-back writes (lost races) / requests', `${fmt(lostRaces)} / ${fmt(ingest.requests)}`, ''],
      ['failed requests', String(results.ingest.failures + results.singleTrack.failures), '0'],
    ];
    const widths = [0, 1, 2].map((c) => Math.max(...table.map((row) => (row[c] ?? '').length)));
    for (const row of table) process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ')}\n`);

    const dir = join(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `ingest-${results.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`wrote ${file}\n`);
  } finally {
    await sql.end();
    await personae.close();
    await dropRedisKeys(config.REDIS_URL, config.QUEUE_PREFIX);
    if (!process.env.BENCH_KEEP_DB) await database.drop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
