import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Client } from 'pg';

import { migrate } from '../src/database/migrator';
import {
  DEFAULT_MONTHS,
  DEFAULT_NOW,
  DEFAULT_SEED,
  DEFAULT_WORKSPACE_NAME,
  generateDataset,
  InvalidDatasetOptionsError,
} from '../src/demo/generator/dataset';
import { TooFewEventsError } from '../src/demo/generator/population';
import { DEFAULT_BENCH_DATABASE_URL, ensureDatabase } from './generator/database';
import { DatasetStats } from './generator/dataset-stats';
import { type DataReport, formatSummary, machineInfo, redactUrl, writeReport } from './generator/report';
import { type EventIndexMode, writeDataset } from './generator/writer';

const USAGE = `Fills a Personae database with deterministic, Segment-style benchmark data.

usage: npm run bench:data -- [options]
  --profiles <n>          profiles to create (default 10000)
  --events <n>            events to create, exactly (default 100000)
  --seed <n>              PRNG seed; same arguments give byte-identical rows (default ${DEFAULT_SEED})
  --months <n>            months of history before --now (default ${DEFAULT_MONTHS})
  --now <ISO>             the moment the data is "as of" (default ${DEFAULT_NOW})
  --database-url <url>    default: $DATABASE_URL, else ${DEFAULT_BENCH_DATABASE_URL} (created if missing)
  --workspace-name <s>    default "${DEFAULT_WORKSPACE_NAME}"; reloading replaces the previous load
  --event-indexes <mode>  auto | rebuild | keep: drop non-unique event indexes during the load (default auto)
  --checksums             print SHA-256 of each table's COPY text
  --skip-analyze          do not ANALYZE after loading
  --results-dir <dir>     where the JSON report goes (default bench/results)`;

function integer(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value.replace(/_/g, ''));
  if (!Number.isSafeInteger(parsed) || parsed < 0)
    throw new InvalidDatasetOptionsError(`--${name} must be a non-negative integer, got "${value}"`);
  return parsed;
}

function indexMode(value: string | undefined): EventIndexMode {
  if (value === undefined || value === 'auto' || value === 'rebuild' || value === 'keep') return value ?? 'auto';
  throw new InvalidDatasetOptionsError(`--event-indexes must be auto, rebuild or keep, got "${value}"`);
}

async function serverVersion(url: string): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? 'unknown';
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profiles: { type: 'string' },
      events: { type: 'string' },
      seed: { type: 'string' },
      months: { type: 'string' },
      now: { type: 'string' },
      'database-url': { type: 'string' },
      'workspace-name': { type: 'string' },
      'event-indexes': { type: 'string' },
      checksums: { type: 'boolean', default: false },
      'skip-analyze': { type: 'boolean', default: false },
      'results-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }

  const startedAt = new Date().toISOString();
  const url = values['database-url'] ?? process.env.DATABASE_URL ?? DEFAULT_BENCH_DATABASE_URL;
  const dataset = generateDataset({
    profiles: integer('profiles', values.profiles, 10_000),
    events: integer('events', values.events, 100_000),
    seed: integer('seed', values.seed, DEFAULT_SEED),
    months: integer('months', values.months, DEFAULT_MONTHS),
    now: values.now ?? DEFAULT_NOW,
    workspaceName: values['workspace-name'] ?? DEFAULT_WORKSPACE_NAME,
  });
  const eventIndexes = indexMode(values['event-indexes']);
  const { options } = dataset;
  console.error(
    `generating ${options.profiles.toLocaleString('en-US')} profiles / ${options.events.toLocaleString('en-US')} events` +
      ` (seed ${options.seed}, now ${options.now}, ${options.months} months) into ${redactUrl(url)}`,
  );

  const created = await ensureDatabase(url);
  const migrations = await migrate(url);
  const stats = new DatasetStats(options.now);
  const load = await writeDataset(dataset, {
    databaseUrl: url,
    eventIndexes,
    checksums: values.checksums,
    analyze: !values['skip-analyze'],
    onJourney: (journey) => stats.observe(journey),
    onProgress: (progress) => {
      const rate = Math.round(progress.events / Math.max(progress.elapsedSeconds, 0.001));
      const share = ((100 * progress.events) / progress.totalEvents).toFixed(1);
      console.error(
        `  ${progress.elapsedSeconds.toFixed(0)}s  events ${progress.events.toLocaleString('en-US')} (${share}%)` +
          `  profiles ${progress.profiles.toLocaleString('en-US')}  ${rate.toLocaleString('en-US')} events/s`,
      );
    },
  });

  const totalRows = load.tables.reduce((sum, table) => sum + table.rows, 0);
  const eventsLoad = load.tables.find((table) => table.table === 'events');
  const report: DataReport = {
    kind: 'bench-data',
    startedAt,
    dataset: options,
    database: {
      url: redactUrl(url),
      created,
      serverVersion: await serverVersion(url),
      migrationsApplied: migrations.applied,
    },
    machine: machineInfo(),
    load,
    rowsPerSecond: {
      events: eventsLoad?.rowsPerSecond ?? 0,
      all: load.seconds.total > 0 ? Math.round(totalRows / load.seconds.total) : totalRows,
    },
    stats: stats.snapshot(),
  };
  console.log(formatSummary(report));
  const path = await writeReport(report, values['results-dir'] ?? join(__dirname, 'results'));
  console.log(`\nreport: ${path}`);
}

main().catch((error: unknown) => {
  // Bad arguments get a one-line answer; anything else keeps its stack for debugging.
  const expected =
    error instanceof InvalidDatasetOptionsError || error instanceof TooFewEventsError || error instanceof TypeError;
  console.error(error instanceof Error ? (expected ? error.message : (error.stack ?? error.message)) : error);
  process.exitCode = 1;
});
