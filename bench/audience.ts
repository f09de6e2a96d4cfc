import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Client, DatabaseError } from 'pg';

import { audienceCountQuery } from '../src/audiences/audiences.repository';
import { parseAudience } from '../src/audiences/language/audience-parser';
import { compileAudiencePredicate } from '../src/audiences/language/compiler/audience-compiler';
import { ANALYTICAL_SETTINGS } from '../src/database/query-settings';
import { DEFAULT_NOW, DEFAULT_SEED, generateDataset, InvalidDatasetOptionsError } from '../src/demo/generator/dataset';
import { AUDIENCE_CASES, AudienceBenchCase } from './audience/cases';
import { prepareDataset } from './audience/dataset';
import { withStatisticsFreeCopy } from './audience/statistics-free';
import { machineInfo, redactUrl } from './generator/report';

const USAGE = `Times the COUNT of compiled audience SQL against hand-written SQL for the same audiences,
then each compiled query once more on a copy of the database without statistics (as before ANALYZE).

usage: npm run bench:audience -- [options]
  --profiles <n>        default 100000 (with --events 1000000); 1000000 with 10000000 for the large run
  --events <n>          default 1000000
  --seed <n>            generator seed (default ${DEFAULT_SEED})
  --database-url <url>  default: $DATABASE_URL, else personae_bench (personae_bench_10m from 5M events on)
  --repetitions <n>     timed runs of each query after one warm-up (default 5); the median is reported
  --only <key,…>        run only these audiences
  --skip-no-statistics  do not time the statistics-free copy
  --results-dir <dir>   where the JSON report goes (default bench/results)`;

const TARGET_RATIO = 1.3;
/** Without statistics, no audience may take more than this many times its time with them. */
const NO_STATISTICS_TARGET_RATIO = 10;
const STATEMENT_TIMEOUT_MS = 300_000;
const QUERY_CANCELED = '57014';

interface Timing {
  medianMs: number;
  runsMs: number[];
  count: number;
}

interface StatisticsFreeTiming {
  /** One run; null when it was stopped at `stoppedAfterMs`. */
  ms: number | null;
  stoppedAfterMs?: number;
  count: number;
  /** Against the compiled query's median with statistics. */
  ratio: number | null;
}

interface CaseResult {
  key: string;
  definition: string;
  count: number;
  countsAgree: boolean;
  compiled: Timing;
  handWritten: Timing;
  ratio: number;
  compiledSql: string;
  withoutStatistics?: StatisticsFreeTiming;
}

function integer(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value.replace(/_/g, ''));
  if (!Number.isSafeInteger(parsed) || parsed < 1) {
    throw new InvalidDatasetOptionsError(`--${name} must be a positive integer, got "${value}"`);
  }
  return parsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

async function timeOnce(client: Client, text: string, values: unknown[]): Promise<{ ms: number; count: number }> {
  const started = performance.now();
  const { rows } = await client.query<{ count: number }>(text, values);
  return { ms: performance.now() - started, count: rows[0]?.count ?? -1 };
}

async function runCase(
  client: Client,
  benchCase: AudienceBenchCase,
  workspaceId: string,
  now: Date,
  repetitions: number,
): Promise<CaseResult> {
  const predicate = compileAudiencePredicate(parseAudience(benchCase.definition), { workspaceId, now });
  const compiled = audienceCountQuery(workspaceId, predicate);
  const hand = { text: benchCase.handWritten, values: [workspaceId, now.toISOString(), ...(benchCase.params ?? [])] };
  // One warm-up each, then interleaved, each going first every other time: the second query of a
  // pair finds the pages the first one read in shared buffers, which would favour it every time.
  await timeOnce(client, compiled.text, compiled.values);
  await timeOnce(client, hand.text, hand.values);
  const compiledRuns: { ms: number; count: number }[] = [];
  const handRuns: { ms: number; count: number }[] = [];
  for (let i = 0; i < repetitions; i++) {
    if (i % 2 === 0) {
      compiledRuns.push(await timeOnce(client, compiled.text, compiled.values));
      handRuns.push(await timeOnce(client, hand.text, hand.values));
    } else {
      handRuns.push(await timeOnce(client, hand.text, hand.values));
      compiledRuns.push(await timeOnce(client, compiled.text, compiled.values));
    }
  }
  const timing = (runs: { ms: number; count: number }[]): Timing => ({
    medianMs: round(median(runs.map((r) => r.ms))),
    runsMs: runs.map((r) => round(r.ms)),
    count: runs[0]?.count ?? -1,
  });
  const compiledTiming = timing(compiledRuns);
  const handTiming = timing(handRuns);
  const counts = new Set([...compiledRuns, ...handRuns].map((r) => r.count));
  return {
    key: benchCase.key,
    definition: benchCase.definition,
    count: compiledTiming.count,
    countsAgree: counts.size === 1,
    compiled: compiledTiming,
    handWritten: handTiming,
    ratio: round(compiledTiming.medianMs / Math.max(handTiming.medianMs, 0.001)),
    compiledSql: compiled.text,
  };
}

/** The session the application runs audience statements in (src/database/query-settings.ts). */
async function applySettings(client: Client, timeoutMs: number): Promise<void> {
  for (const [name, value] of Object.entries({ ...ANALYTICAL_SETTINGS, statement_timeout: String(timeoutMs) })) {
    await client.query('SELECT set_config($1, $2, false)', [name, value]);
  }
}

/**
 * Each compiled query once on a statistics-free copy, stopped at twice its goal (20× its time with
 * statistics, at least 5 s) so that a plan that degenerates reports "stopped" instead of running
 * for an hour.
 */
async function timeWithoutStatistics(
  url: string,
  results: CaseResult[],
  workspaceId: string,
  now: Date,
): Promise<void> {
  const client = new Client({ connectionString: url, application_name: 'personae-bench-audience' });
  await client.connect();
  try {
    for (const result of results) {
      const benchCase = AUDIENCE_CASES.find((c) => c.key === result.key);
      if (!benchCase) continue;
      console.error(`  ${result.key} without statistics…`);
      const limitMs = Math.max(5_000, Math.ceil(result.compiled.medianMs * NO_STATISTICS_TARGET_RATIO * 2));
      await applySettings(client, limitMs);
      const compiled = audienceCountQuery(
        workspaceId,
        compileAudiencePredicate(parseAudience(benchCase.definition), { workspaceId, now }),
      );
      try {
        const { ms, count } = await timeOnce(client, compiled.text, compiled.values);
        result.withoutStatistics = {
          ms: round(ms),
          count,
          ratio: round(ms / Math.max(result.compiled.medianMs, 0.001)),
        };
      } catch (error) {
        if (!(error instanceof DatabaseError) || error.code !== QUERY_CANCELED) throw error;
        result.withoutStatistics = { ms: null, stoppedAfterMs: limitMs, count: -1, ratio: null };
      }
    }
  } finally {
    await client.end();
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function withoutStatisticsCells(r: CaseResult): [string, string] {
  const w = r.withoutStatistics;
  if (!w) return ['-', '-'];
  if (w.ms === null) return [`> ${w.stoppedAfterMs ?? 0} (stopped)`, `> ${NO_STATISTICS_TARGET_RATIO * 2}x`];
  return [w.ms.toFixed(1), `${(w.ratio ?? 0).toFixed(2)}x`];
}

function formatTable(results: CaseResult[]): string {
  const header = [
    'audience',
    'compiled ms',
    'hand-written ms',
    `ratio (goal <= ${TARGET_RATIO}x)`,
    'no statistics ms',
    `vs analysed (goal <= ${NO_STATISTICS_TARGET_RATIO}x)`,
    'count',
    '',
  ];
  const rows = results.map((r) => [
    r.key,
    r.compiled.medianMs.toFixed(1),
    r.handWritten.medianMs.toFixed(1),
    `${r.ratio.toFixed(2)}x`,
    ...withoutStatisticsCells(r),
    r.count.toLocaleString('en-US'),
    [
      r.countsAgree ? '' : `COUNTS DIFFER (hand-written ${r.handWritten.count})`,
      r.withoutStatistics && r.withoutStatistics.ms !== null && r.withoutStatistics.count !== r.count
        ? `COUNT WITHOUT STATISTICS ${r.withoutStatistics.count}`
        : '',
      r.ratio > TARGET_RATIO ? `> ${TARGET_RATIO}x` : '',
      missesStatisticsGoal(r) ? `> ${NO_STATISTICS_TARGET_RATIO}x without statistics` : '',
    ]
      .filter(Boolean)
      .join(' '),
  ]);
  const last = header.length - 1;
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i === 0 || i === last ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Compiled and hand-written queries of every case on the analysed dataset database. */
async function timeWithStatistics(
  url: string,
  cases: readonly AudienceBenchCase[],
  workspaceId: string,
  now: Date,
  repetitions: number,
): Promise<{ results: CaseResult[]; serverVersion: string }> {
  const client = new Client({ connectionString: url, application_name: 'personae-bench-audience' });
  await client.connect();
  try {
    await applySettings(client, STATEMENT_TIMEOUT_MS);
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    const results: CaseResult[] = [];
    for (const benchCase of cases) {
      console.error(`  ${benchCase.key}…`);
      results.push(await runCase(client, benchCase, workspaceId, now, repetitions));
    }
    return { results, serverVersion: rows[0]?.server_version ?? 'unknown' };
  } finally {
    await client.end();
  }
}

function missesStatisticsGoal(r: CaseResult): boolean {
  const w = r.withoutStatistics;
  return w !== undefined && (w.ratio === null || w.ratio > NO_STATISTICS_TARGET_RATIO);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profiles: { type: 'string' },
      events: { type: 'string' },
      seed: { type: 'string' },
      'database-url': { type: 'string' },
      repetitions: { type: 'string' },
      only: { type: 'string' },
      'skip-no-statistics': { type: 'boolean', default: false },
      'results-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const profiles = integer('profiles', values.profiles, 100_000);
  const events = integer('events', values.events, 1_000_000);
  const repetitions = integer('repetitions', values.repetitions, 5);
  const defaultDatabase = events >= 5_000_000 ? 'personae_bench_10m' : 'personae_bench';
  const url =
    values['database-url'] ?? process.env.DATABASE_URL ?? `postgresql://postgres@127.0.0.1:5432/${defaultDatabase}`;
  const only = values.only?.split(',').map((key) => key.trim());
  const cases = only ? AUDIENCE_CASES.filter((c) => only.includes(c.key)) : AUDIENCE_CASES;

  const dataset = generateDataset({
    profiles,
    events,
    seed: integer('seed', values.seed, DEFAULT_SEED),
    now: DEFAULT_NOW,
  });
  const now = new Date(dataset.options.now);
  console.error(
    `dataset ${profiles.toLocaleString('en-US')} profiles / ${events.toLocaleString('en-US')} events in ${redactUrl(url)}`,
  );
  const prepared = await prepareDataset(dataset, url, (line) => console.error(line));
  console.error(prepared.reused ? 'reusing the loaded dataset' : `loaded in ${prepared.loadSeconds.toFixed(0)} s`);

  const { results, serverVersion } = await timeWithStatistics(url, cases, prepared.workspaceId, now, repetitions);
  if (!values['skip-no-statistics']) {
    await withStatisticsFreeCopy(
      url,
      (line) => console.error(line),
      (copyUrl) => timeWithoutStatistics(copyUrl, results, prepared.workspaceId, now),
    );
  }
  console.log(
    `\nCOUNT of each audience at ${now.toISOString()}, median of ${repetitions} runs after a warm-up;` +
      ' without statistics: one run on a copy never ANALYZEd\n',
  );
  console.log(formatTable(results));
  const slow = results.filter((r) => r.ratio > TARGET_RATIO);
  console.log(
    slow.length === 0
      ? `\nevery compiled query is within ${TARGET_RATIO}x of the hand-written one`
      : `\nslower than ${TARGET_RATIO}x: ${slow.map((r) => r.key).join(', ')}`,
  );
  const degenerate = results.filter(missesStatisticsGoal);
  if (!values['skip-no-statistics']) {
    console.log(
      degenerate.length === 0
        ? `without statistics every compiled query is within ${NO_STATISTICS_TARGET_RATIO}x of its time with them`
        : `more than ${NO_STATISTICS_TARGET_RATIO}x slower without statistics: ${degenerate.map((r) => r.key).join(', ')}`,
    );
  }
  const report = {
    kind: 'bench-audience',
    startedAt: new Date().toISOString(),
    dataset: dataset.options,
    database: { url: redactUrl(url), serverVersion, reused: prepared.reused },
    machine: machineInfo(),
    sessionSettings: ANALYTICAL_SETTINGS,
    repetitions,
    targetRatio: TARGET_RATIO,
    noStatisticsTargetRatio: NO_STATISTICS_TARGET_RATIO,
    results,
  };
  const dir = values['results-dir'] ?? join(__dirname, 'results');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `audience-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nreport: ${path}`);
  const countsDiffer = results.some(
    (r) => !r.countsAgree || (r.withoutStatistics?.ms != null && r.withoutStatistics.count !== r.count),
  );
  if (countsDiffer) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(
    error instanceof InvalidDatasetOptionsError
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : error,
  );
  process.exitCode = 1;
});
