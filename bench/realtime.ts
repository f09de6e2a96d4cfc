/**
 * `npm run bench:realtime` — real-time evaluation under load, and its fairness. A heavy workspace
 * (the seeded dataset, 20 audiences of every condition family) and a probe workspace (the same 20
 * audiences, light traffic) share one API process and one worker process (ROLE=api, ROLE=worker).
 *
 * - quiet: single /v1/track calls in the probe workspace, event → entered (nothing else running);
 * - phase 1: the heavy workspace ingests new and returning people through /v1/batch, while a probe
 *   in the probe workspace measures event → entered; the backlog is sampled every second;
 * - phase 2: the same with the heavy workspace importing history (/v1/import, weeks-old
 *   timestamps), and a live probe in the heavy workspace itself;
 * - the same 20 audiences counted in full over the heavy workspace: the cost per profile of the
 *   set-based queries, next to the cost per profile of real-time evaluation.
 *
 * Prints a table with the goals next to the measured values and writes
 * bench/results/realtime-<timestamp>.json. Each run works on a copy of a template database that
 * holds the dataset and the computed audiences (built on the first run of a size).
 */
import 'reflect-metadata';

import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Client } from 'pg';

import { freePort } from '../test/support/redis-server';
import { machineInfo, redactUrl } from './generator/report';
import { checkRealtimeAudiences, PROBE_AUDIENCE_KEY, PROBE_EVENT } from './realtime/audiences';
import { countQueuedProfiles, PhaseResult, runPhase } from './realtime/phase';
import { Probe, ProbeOptions, ProbeResult } from './realtime/probe';
import { startPersonae, stopPersonae, withApplicationName } from './realtime/processes';
import { formatReport, GOALS, RealtimeReport } from './realtime/report';
import {
  ADMIN_TOKEN,
  audienceIdsOf,
  cloneTemplate,
  createProbeWorkspace,
  dropDatabase,
  measureFullCounts,
  obliterateQueues,
  prepareTemplate,
  REDIS_URL,
  returningUserIds,
} from './realtime/setup';

function integer(name: string, value: string | undefined, fallback: number): number {
  const parsed = value === undefined ? fallback : Number(value.replace(/_/g, ''));
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw new Error(`--${name} must be a whole number, got ${value}`);
  return parsed;
}

function sizeLabel(n: number): string {
  return n >= 1_000_000 && n % 1_000_000 === 0
    ? `${n / 1_000_000}m`
    : n >= 1_000
      ? `${Math.round(n / 1_000)}k`
      : `${n}`;
}

const USAGE = `usage: npm run bench:realtime -- [options]
  --profiles <n>        dataset profiles (default 100000)
  --events <n>          dataset events (default 1000000)
  --seconds <n>         length of each load phase (default 60)
  --clients <n>         concurrent /v1/batch clients (default 4)
  --batch <n>           messages per request (default 100)
  --rate <n>            events/s to send, the goal's by default; 0 = as fast as the server answers (default 5000)
  --returning <share>   share of messages from people of the dataset (default 0.3)
  --quiet-samples <n>   single calls on the quiet machine (default 100)
  --drain-seconds <n>   how long a phase waits for the backlog to drain after its load (default 900)
  --concurrency <n>     EVALUATE_CONCURRENCY of the worker (default 2)
  --batch-size <n>      EVALUATION_BATCH_SIZE of the worker (default 500)
  --template-url <url>  default postgresql://postgres@127.0.0.1:5432/personae_bench_realtime_<size>
  --prepare-only        build the template database (dataset + computed audiences) and stop
  --keep                keep the run's database
  --results-dir <dir>   default bench/results`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profiles: { type: 'string' },
      events: { type: 'string' },
      seconds: { type: 'string' },
      clients: { type: 'string' },
      batch: { type: 'string' },
      rate: { type: 'string' },
      returning: { type: 'string' },
      'quiet-samples': { type: 'string' },
      'drain-seconds': { type: 'string' },
      concurrency: { type: 'string' },
      'batch-size': { type: 'string' },
      'template-url': { type: 'string' },
      keep: { type: 'boolean', default: false },
      'prepare-only': { type: 'boolean', default: false },
      'results-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const settings = {
    profiles: integer('profiles', values.profiles, 100_000),
    events: integer('events', values.events, 1_000_000),
    seconds: integer('seconds', values.seconds, 60),
    clients: integer('clients', values.clients, 4),
    batch: integer('batch', values.batch, 100),
    rate: integer('rate', values.rate, GOALS.ingestEventsPerSecond),
    returningShare: Number(values.returning ?? 0.3),
    quietSamples: integer('quiet-samples', values['quiet-samples'], 100),
    drainSeconds: integer('drain-seconds', values['drain-seconds'], 900),
    evaluateConcurrency: integer('concurrency', values.concurrency, 2),
    evaluationBatchSize: integer('batch-size', values['batch-size'], 500),
  };
  checkRealtimeAudiences();
  const startedAt = new Date().toISOString();
  const templateUrl =
    values['template-url'] ??
    `postgresql://postgres@127.0.0.1:5432/personae_bench_realtime_${sizeLabel(settings.profiles)}`;
  const dataset = await prepareTemplate(templateUrl, settings.profiles, settings.events);
  const heavyWorkspaceId = dataset.workspace.id;
  if (values['prepare-only']) return;
  const runUrl = await cloneTemplate(templateUrl, `personae_bench_realtime_run_${randomBytes(4).toString('hex')}`);
  const sql = new Client({ connectionString: runUrl });
  await sql.connect();
  await countQueuedProfiles(sql);

  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const common = {
    REDIS_URL,
    ADMIN_TOKEN,
    QUEUE_PREFIX: `bench-realtime-${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  const api = await startPersonae({
    ...common,
    ROLE: 'api',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: withApplicationName(runUrl, 'rt-api'),
  });
  const worker = await startPersonae({
    ...common,
    ROLE: 'worker',
    DATABASE_URL: withApplicationName(runUrl, 'rt-worker'),
    EVALUATE_CONCURRENCY: String(settings.evaluateConcurrency),
    EVALUATION_BATCH_SIZE: String(settings.evaluationBatchSize),
  });

  try {
    const probeWorkspace = await createProbeWorkspace(baseUrl, sql);
    const heavyAudiences = await audienceIdsOf(sql, heavyWorkspaceId);
    const returning = await returningUserIds(sql, heavyWorkspaceId, 50_000);
    const probeOptions = (label: string, workspaceId: string, writeKey: string, audienceId: string): ProbeOptions => ({
      databaseUrl: runUrl,
      baseUrl,
      writeKey,
      workspaceId,
      audienceId,
      event: PROBE_EVENT,
      label,
      gapMs: 100,
      timeoutMs: 30_000,
    });
    const probe = probeOptions(
      'probe',
      probeWorkspace.workspaceId,
      probeWorkspace.writeKey,
      probeWorkspace.audienceIds.get(PROBE_AUDIENCE_KEY)!,
    );
    const heavyProbe = probeOptions(
      'heavy-probe',
      heavyWorkspaceId,
      dataset.source.writeKey,
      heavyAudiences.get(PROBE_AUDIENCE_KEY)!,
    );

    // Before any ingest: the same data every run (the phases add people).
    console.error('full counts of the 20 audiences…');
    const fullCounts = await measureFullCounts(runUrl, heavyWorkspaceId);
    console.error(`quiet: ${settings.quietSamples} single calls…`);
    await new Probe({ ...probe, label: 'warm-up' }).sample(5);
    const quiet: ProbeResult = await new Probe({ ...probe, gapMs: 50 }).sample(settings.quietSamples);

    const load = (runId: string, path: string, minAgeDays: number, maxAgeDays: number) => ({
      baseUrl,
      writeKey: dataset.source.writeKey,
      path,
      runId,
      durationMs: settings.seconds * 1000,
      concurrency: settings.clients,
      batchSize: settings.batch,
      ratePerSecond: settings.rate,
      returning,
      returningShare: settings.returningShare,
      minAgeDays,
      maxAgeDays,
    });
    const phaseCommon = {
      sql,
      heavyWorkspaceId,
      apiPid: api.child.pid,
      workerPid: worker.child.pid,
      // Long enough for the backlog to drain: the next phase must start from an empty outbox.
      drainLimitSeconds: settings.drainSeconds,
    };
    const loadavgs: Record<string, number[]> = { start: loadavg() };
    console.error(`phase 1: live ingest through /v1/batch for ${settings.seconds} s…`);
    const phases: PhaseResult[] = [];
    phases.push(
      await runPhase({
        ...phaseCommon,
        name: 'phase 1: live ingest',
        load: load(`rt1-${randomBytes(3).toString('hex')}`, '/v1/batch', 0, 0),
        probes: { 'probe workspace': probe },
      }),
    );
    loadavgs.phase1 = loadavg();
    console.error(`phase 2: history import through /v1/import for ${settings.seconds} s…`);
    phases.push(
      await runPhase({
        ...phaseCommon,
        name: 'phase 2: history import',
        load: load(`rt2-${randomBytes(3).toString('hex')}`, '/v1/import', 14, 60),
        probes: { 'probe workspace': probe, 'heavy workspace, live': heavyProbe },
      }),
    );
    loadavgs.phase2 = loadavg();

    const report: RealtimeReport = {
      kind: 'bench-realtime',
      startedAt,
      settings,
      dataset: dataset.options,
      database: redactUrl(templateUrl),
      machine: { ...machineInfo(), loadavg: loadavgs },
      quiet,
      phases,
      fullCounts,
    };
    console.log(formatReport(report));
    const directory = values['results-dir'] ?? join(__dirname, 'results');
    await mkdir(directory, { recursive: true });
    const path = join(directory, `realtime-${startedAt.replace(/[:.]/g, '-')}.json`);
    await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nreport: ${path}`);
  } finally {
    await stopPersonae(worker);
    await stopPersonae(api);
    await sql.end();
    if (!values.keep) await dropDatabase(runUrl);
    await obliterateQueues(common.QUEUE_PREFIX);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
