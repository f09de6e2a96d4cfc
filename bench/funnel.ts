/**
 * Funnel benchmark: a 5-step shop funnel broken down by utm_source over the seeded generator's
 * data, as Personae computes it (src/funnels/funnel-sql.ts) against what an analyst would write by
 * hand (bench/funnel/hand-written.ts), in the same run, checking both give the same counts.
 *
 *   npm run bench:funnel                                         # 100k profiles / 1M events
 *   npm run bench:funnel -- --profiles 1000000 --events 10000000
 *
 * An already-loaded identical dataset is reused (personae_bench, personae_bench_10m, or the
 * database this script loads into, personae_bench_p<profiles>_e<events>); nothing else is touched.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Client } from 'pg';

import { migrate } from '../src/database/migrator';
import { DEFAULT_SEED, generateDataset } from '../src/demo/generator/dataset';
import { readBreakdown, readSteps } from '../src/funnels/funnel-request';
import { FunnelGroupRow, FunnelQuery, previousPeriod } from '../src/funnels/funnel-spec';
import { funnelReportSql } from '../src/funnels/funnel-sql';
import { RawFunnelRow, readFunnelRows } from '../src/funnels/funnels.repository';
import { handWrittenFunnelSql } from './funnel/hand-written';
import { compareCounts, formatTable, median, writeResults } from './funnel/results';
import { ensureDatabase } from './generator/database';
import { machineInfo, redactUrl } from './generator/report';
import { writeDataset } from './generator/writer';

const SERVER = 'postgresql://postgres@127.0.0.1:5432';
const STEPS = ['Signed Up', 'Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed'];

function integer(value: string | undefined, fallback: number): number {
  const parsed = value === undefined ? fallback : Number(value.replace(/_/g, ''));
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw new Error(`expected a positive integer, got ${value}`);
  return parsed;
}

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Whether `url` holds exactly this dataset's workspace, with the expected numbers of rows. */
async function holdsDataset(url: string, workspaceId: string, profiles: number, events: number): Promise<boolean> {
  try {
    return await withClient(url, async (client) => {
      const { rows } = await client.query<{ profiles: number; events: number }>(
        `SELECT (SELECT count(*) FROM profiles WHERE workspace_id = $1)::int AS profiles,
                (SELECT count(*) FROM events WHERE workspace_id = $1)::int AS events`,
        [workspaceId],
      );
      return rows[0]?.profiles === profiles && rows[0]?.events === events;
    });
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profiles: { type: 'string' },
      events: { type: 'string' },
      seed: { type: 'string' },
      runs: { type: 'string' },
      'database-url': { type: 'string' },
    },
  });
  const profiles = integer(values.profiles, 100_000);
  const events = integer(values.events, 1_000_000);
  const runs = integer(values.runs, 5);
  const dataset = generateDataset({ profiles, events, seed: integer(values.seed, DEFAULT_SEED) });
  const workspaceId = dataset.workspace.id;
  const own = `${SERVER}/personae_bench_p${profiles}_e${events}`;
  const candidates = values['database-url']
    ? [values['database-url']]
    : [`${SERVER}/personae_bench`, `${SERVER}/personae_bench_10m`, own];
  let url: string | undefined;
  for (const candidate of candidates) {
    if (await holdsDataset(candidate, workspaceId, profiles, events)) {
      url = candidate;
      break;
    }
  }
  let loadedSeconds: number | null = null;
  if (!url) {
    url = values['database-url'] ?? own;
    console.error(
      `loading ${profiles.toLocaleString('en-US')} profiles / ${events.toLocaleString('en-US')} events into ${redactUrl(url)}`,
    );
    await ensureDatabase(url);
    await migrate(url);
    const load = await writeDataset(dataset, { databaseUrl: url, eventIndexes: 'auto', analyze: true });
    loadedSeconds = load.seconds.total;
  } else {
    console.error(`reusing the dataset in ${redactUrl(url)}`);
  }

  const now = new Date(dataset.options.now);
  const to = now;
  const from = new Date(now.getTime() - 30 * 86_400_000);
  const windowDays = 14;
  const query: FunnelQuery = {
    workspaceId,
    steps: readSteps(STEPS.map((event) => ({ event }))),
    windowSeconds: windowDays * 86_400,
    mode: 'sequential',
    from,
    to,
    now,
    breakdown: readBreakdown({ type: 'context', property: 'utm_source', limit: 10 }),
  };
  const ours = funnelReportSql(query, query);
  const previous = previousPeriod(query);
  const oursPrevious = funnelReportSql({ ...query, breakdown: undefined }, previous);
  const hand = handWrittenFunnelSql({
    workspaceId,
    steps: STEPS,
    from,
    to,
    windowDays,
    now,
    contextPath: ['campaign', 'source'],
  });

  const result = await withClient(url, async (client) => {
    const timed = async <T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> => {
      const started = performance.now();
      const value = await fn();
      return { ms: performance.now() - started, value };
    };
    const runOurs = async (): Promise<FunnelGroupRow[]> =>
      readFunnelRows((await client.query<RawFunnelRow>(ours.text, ours.values)).rows);
    const runHand = async () => (await client.query<Record<string, unknown>>(hand)).rows;
    // Both periods side by side, as the service runs them (a second connection for the previous one).
    const runReport = () =>
      withClient(url, async (second) => Promise.all([runOurs(), second.query(oursPrevious.text, oursPrevious.values)]));
    // A warm-up of each, then alternate which goes first so neither always gets the warmer cache.
    const oursRows = await runOurs();
    const handRows = await runHand();
    await runReport();
    const times = { ours: [] as number[], hand: [] as number[], report: [] as number[] };
    for (let run = 0; run < runs; run++) {
      const order = run % 2 === 0 ? (['ours', 'hand'] as const) : (['hand', 'ours'] as const);
      for (const which of order) {
        const elapsed = which === 'ours' ? await timed(runOurs) : await timed(runHand);
        times[which].push(elapsed.ms);
      }
      times.report.push((await timed(runReport)).ms);
    }
    return { oursRows, handRows, times };
  });

  const check = compareCounts(result.oursRows, result.handRows, STEPS.length);
  const summary = {
    kind: 'bench-funnel',
    startedAt: new Date().toISOString(),
    dataset: { profiles, events, seed: dataset.options.seed, database: redactUrl(url), loadedSeconds },
    funnel: {
      steps: STEPS,
      from: from.toISOString(),
      to: to.toISOString(),
      windowDays,
      breakdown: 'context utm_source',
    },
    machine: machineInfo(),
    runs,
    medianMs: {
      personae: median(result.times.ours),
      handWritten: median(result.times.hand),
      personaeFullReport: median(result.times.report),
    },
    timesMs: result.times,
    ratio: median(result.times.ours) / median(result.times.hand),
    countsAgree: check.agree,
    differences: check.differences,
    totals: result.oursRows.find((r) => r.kind === 'total')?.counts ?? [],
  };
  console.log(formatTable(summary));
  const path = await writeResults(summary, join(__dirname, 'results'));
  console.log(`\nresults: ${path}`);
  if (!check.agree) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
