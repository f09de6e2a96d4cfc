import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Client } from 'pg';

import { ANALYTICAL_SETTINGS } from '../src/database/query-settings';
import { DEFAULT_NOW, DEFAULT_SEED, generateDataset, InvalidDatasetOptionsError } from '../src/demo/generator/dataset';
import { compileTrait } from '../src/traits/language/compiler/trait-compiler';
import { parseTrait } from '../src/traits/language/trait-parser';
import { traitValuesStatement } from '../src/traits/trait-values.repository';
import { prepareDataset } from './audience/dataset';
import { machineInfo, redactUrl } from './generator/report';

const USAGE = `Times the full computation of computed traits (the statement the engine runs: values, diff against
the stored ones, upserts, deletes and history) next to a hand-written GROUP BY + upsert of the same
values, first into an empty table and then again with nothing changed; and the real-time update of
batches of touched profiles (every trait, one transaction, as the batch participant runs it).

usage: npm run bench:traits -- [options]
  --profiles <n>        default 100000 (with --events 1000000)
  --events <n>          default 1000000
  --seed <n>            generator seed (default ${DEFAULT_SEED})
  --database-url <url>  default: $DATABASE_URL, else personae_bench_traits (its own database: the
                        benchmark turns page calls into "Page Viewed" track events, see below)
  --repetitions <n>     timed runs per measurement after a warm-up (default 3); the median is reported
  --batches <n>         real-time batches timed (default 50)
  --batch-size <n>      profiles per real-time batch (default 100)
  --results-dir <dir>   where the JSON report goes (default bench/results)

The generator's web traffic is page calls; the traits the issue names read "Page Viewed" track events
with a category, so the benchmark database turns every page call into one (category: the page name).`;

const TARGET_RATIO = 1.3;
const REALTIME_P95_GOAL_MS = 1_000;

interface BenchCase {
  key: string;
  definition: string;
  /** The same values by hand: $1 workspace, $2 now, $3 trait id. */
  handWritten: string;
}

const CASES: BenchCase[] = [
  {
    key: 'page_views_30d',
    definition: 'count "Page Viewed" within 30 days',
    handWritten: `INSERT INTO bench_trait_values (trait_id, profile_id, value)
      SELECT $3::uuid, p.id, to_jsonb(coalesce(c.n, 0))
      FROM profiles p LEFT JOIN (
        SELECT profile_id, count(*) AS n FROM events
        WHERE workspace_id = $1::uuid AND type = 'track' AND name = 'Page Viewed'
          AND timestamp > $2::timestamptz - interval '30 days' AND timestamp <= $2::timestamptz
        GROUP BY profile_id) c ON c.profile_id = p.id
      WHERE p.workspace_id = $1::uuid AND p.merged_into_id IS NULL
      ON CONFLICT (trait_id, profile_id) DO UPDATE SET value = EXCLUDED.value`,
  },
  {
    key: 'revenue_90d',
    definition: 'sum "Order Completed".revenue within 90 days',
    handWritten: `INSERT INTO bench_trait_values (trait_id, profile_id, value)
      SELECT $3::uuid, e.profile_id, to_jsonb(sum((e.properties->>'revenue')::float8::numeric))
      FROM events e JOIN profiles p ON p.id = e.profile_id AND p.merged_into_id IS NULL
      WHERE e.workspace_id = $1::uuid AND e.type = 'track' AND e.name = 'Order Completed'
        AND e.timestamp > $2::timestamptz - interval '90 days' AND e.timestamp <= $2::timestamptz
        AND jsonb_typeof(e.properties->'revenue') = 'number'
      GROUP BY e.profile_id
      ON CONFLICT (trait_id, profile_id) DO UPDATE SET value = EXCLUDED.value`,
  },
  {
    key: 'top_category',
    definition: 'most frequent "Page Viewed".category',
    handWritten: `INSERT INTO bench_trait_values (trait_id, profile_id, value)
      SELECT DISTINCT ON (g.profile_id) $3::uuid, g.profile_id, g.v
      FROM (SELECT e.profile_id, e.properties->'category' AS v, count(*) AS n, max(e.timestamp) AS latest
            FROM events e JOIN profiles p ON p.id = e.profile_id AND p.merged_into_id IS NULL
            WHERE e.workspace_id = $1::uuid AND e.type = 'track' AND e.name = 'Page Viewed'
              AND e.timestamp <= $2::timestamptz AND jsonb_typeof(e.properties->'category') <> 'null'
            GROUP BY 1, 2) g
      ORDER BY g.profile_id, g.n DESC, g.latest DESC, g.v::text COLLATE "C"
      ON CONFLICT (trait_id, profile_id) DO UPDATE SET value = EXCLUDED.value`,
  },
];

interface Timing {
  medianMs: number;
  runsMs: number[];
}

function integer(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value.replace(/_/g, ''));
  if (!Number.isSafeInteger(parsed) || parsed < 1) {
    throw new InvalidDatasetOptionsError(`--${name} must be a positive integer, got "${value}"`);
  }
  return parsed;
}

const round = (value: number): number => Math.round(value * 100) / 100;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** Runs `prepare` then times `statement` in a transaction that is rolled back, so every run starts alike. */
async function timedInRollback(
  client: Client,
  prepare: string | undefined,
  statement: { text: string; values: unknown[] },
): Promise<number> {
  await client.query('BEGIN');
  try {
    for (const [name, value] of Object.entries(ANALYTICAL_SETTINGS)) {
      await client.query('SELECT set_config($1, $2, true)', [name, value]);
    }
    if (prepare) await client.query(prepare, []);
    const started = performance.now();
    await client.query(statement.text, statement.values);
    return performance.now() - started;
  } finally {
    await client.query('ROLLBACK');
  }
}

async function timing(runs: () => Promise<number>, repetitions: number): Promise<Timing> {
  await runs();
  const ms: number[] = [];
  for (let i = 0; i < repetitions; i++) ms.push(await runs());
  return { medianMs: round(median(ms)), runsMs: ms.map(round) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profiles: { type: 'string' },
      events: { type: 'string' },
      seed: { type: 'string' },
      'database-url': { type: 'string' },
      repetitions: { type: 'string' },
      batches: { type: 'string' },
      'batch-size': { type: 'string' },
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
  const repetitions = integer('repetitions', values.repetitions, 3);
  const batches = integer('batches', values.batches, 50);
  const batchSize = integer('batch-size', values['batch-size'], 100);
  const url =
    values['database-url'] ?? process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/personae_bench_traits';
  const dataset = generateDataset({
    profiles,
    events,
    seed: integer('seed', values.seed, DEFAULT_SEED),
    now: DEFAULT_NOW,
  });
  const now = new Date(dataset.options.now);
  console.error(`dataset ${profiles} profiles / ${events} events in ${redactUrl(url)}`);
  const prepared = await prepareDataset(dataset, url, (line) => console.error(line));
  const workspaceId = prepared.workspaceId;

  const client = new Client({ connectionString: url, application_name: 'personae-bench-traits' });
  await client.connect();
  try {
    const converted = await client.query(
      `UPDATE events SET type = 'track', properties = properties || jsonb_build_object('category', name), name = 'Page Viewed'
       WHERE workspace_id = $1 AND type = 'page'`,
      [workspaceId],
    );
    if ((converted.rowCount ?? 0) > 0) {
      console.error(`turned ${converted.rowCount} page calls into "Page Viewed" track events`);
      await client.query('VACUUM (ANALYZE) events');
    }
    await client.query(`CREATE TABLE IF NOT EXISTS bench_trait_values (
      trait_id uuid NOT NULL, profile_id uuid NOT NULL, value jsonb NOT NULL, PRIMARY KEY (trait_id, profile_id))`);
    await client.query('DELETE FROM computed_traits WHERE workspace_id = $1', [workspaceId]);
    await client.query('TRUNCATE bench_trait_values');

    const results = [];
    const traits: { id: string; benchCase: BenchCase }[] = [];
    for (const benchCase of CASES) {
      console.error(`  ${benchCase.key}…`);
      const traitId = randomUUID();
      const ast = parseTrait(benchCase.definition);
      await client.query(
        `INSERT INTO computed_traits (id, workspace_id, key, name, definition_ast, definition_text) VALUES ($1, $2, $3, $3, $4, $5)`,
        [traitId, workspaceId, benchCase.key, JSON.stringify(ast), benchCase.definition],
      );
      traits.push({ id: traitId, benchCase });
      const compiled = traitValuesStatement({
        traitId,
        workspaceId,
        now,
        compiled: compileTrait(ast, { workspaceId, now }),
      });
      const engine = { text: compiled.text, values: compiled.values };
      const hand = { text: benchCase.handWritten, values: [workspaceId, now.toISOString(), traitId] };

      // Into an empty table: every profile's value is new (the engine also writes a history row each).
      const initialEngine = await timing(() => timedInRollback(client, undefined, engine), repetitions);
      const initialHand = await timing(() => timedInRollback(client, undefined, hand), repetitions);
      // Then kept for good, and computed again with nothing changed.
      await client.query(engine.text, engine.values);
      await client.query(hand.text, hand.values);
      const steadyEngine = await timing(() => timedInRollback(client, undefined, engine), repetitions);
      const steadyHand = await timing(() => timedInRollback(client, undefined, hand), repetitions);
      const agree = await client.query<{ differ: number; values: number }>(
        `SELECT (SELECT count(*)::int FROM computed_trait_values v FULL JOIN bench_trait_values b
                   ON b.trait_id = v.trait_id AND b.profile_id = v.profile_id
                 WHERE (v.trait_id = $1 OR b.trait_id = $1) AND v.value IS DISTINCT FROM b.value) AS differ,
                (SELECT count(*)::int FROM computed_trait_values WHERE trait_id = $1) AS values`,
        [traitId],
      );
      results.push({
        key: benchCase.key,
        definition: benchCase.definition,
        values: agree.rows[0]?.values ?? 0,
        valuesAgree: agree.rows[0]?.differ === 0,
        initial: {
          engine: initialEngine,
          handWritten: initialHand,
          ratio: round(initialEngine.medianMs / initialHand.medianMs),
        },
        unchanged: {
          engine: steadyEngine,
          handWritten: steadyHand,
          ratio: round(steadyEngine.medianMs / steadyHand.medianMs),
        },
      });
    }

    // Real time: batches of random live profiles, every trait in one transaction.
    console.error(`  real time: ${batches} batches of ${batchSize} profiles…`);
    const { rows: ids } = await client.query<{ id: string }>(
      'SELECT id FROM profiles WHERE workspace_id = $1 AND merged_into_id IS NULL ORDER BY random() LIMIT $2',
      [workspaceId, batches * batchSize],
    );
    const batchMs: number[] = [];
    for (let b = 0; b < batches; b++) {
      const profileIds = ids.slice(b * batchSize, (b + 1) * batchSize).map((r) => r.id);
      const started = performance.now();
      await client.query('BEGIN');
      for (const [name, value] of Object.entries(ANALYTICAL_SETTINGS)) {
        await client.query('SELECT set_config($1, $2, true)', [name, value]);
      }
      for (const { id, benchCase } of traits) {
        const statement = traitValuesStatement({
          traitId: id,
          workspaceId,
          now,
          compiled: compileTrait(parseTrait(benchCase.definition), { workspaceId, now }),
          profileIds,
        });
        await client.query(statement.text, statement.values);
      }
      await client.query('COMMIT');
      batchMs.push(performance.now() - started);
    }
    const realtime = {
      batches,
      batchSize,
      traits: traits.length,
      p50Ms: round(percentile(batchMs, 50)),
      p95Ms: round(percentile(batchMs, 95)),
      maxMs: round(Math.max(...batchMs)),
      goalP95Ms: REALTIME_P95_GOAL_MS,
    };

    const header = [
      'trait',
      'values',
      'engine ms',
      'hand ms',
      `ratio (goal <= ${TARGET_RATIO}x)`,
      'unchanged: engine ms',
      'hand ms',
      'ratio',
      '',
    ];
    const rows = results.map((r) => [
      r.key,
      r.values.toLocaleString('en-US'),
      r.initial.engine.medianMs.toFixed(1),
      r.initial.handWritten.medianMs.toFixed(1),
      `${r.initial.ratio.toFixed(2)}x`,
      r.unchanged.engine.medianMs.toFixed(1),
      r.unchanged.handWritten.medianMs.toFixed(1),
      `${r.unchanged.ratio.toFixed(2)}x`,
      [r.valuesAgree ? '' : 'VALUES DIFFER', r.initial.ratio > TARGET_RATIO ? `> ${TARGET_RATIO}x` : '']
        .filter(Boolean)
        .join(' '),
    ]);
    const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => (row[i] ?? '').length)));
    const line = (row: string[]) =>
      row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
    console.log(
      `\nFull computation at ${now.toISOString()}, median of ${repetitions} runs after a warm-up, each in a rolled-back transaction\n`,
    );
    console.log([line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
    console.log(
      `\nreal time: ${batches} batches of ${batchSize} profiles x ${traits.length} traits: p50 ${realtime.p50Ms} ms, p95 ${realtime.p95Ms} ms (goal <= ${REALTIME_P95_GOAL_MS} ms), max ${realtime.maxMs} ms`,
    );
    const report = {
      kind: 'bench-traits',
      startedAt: new Date().toISOString(),
      dataset: dataset.options,
      database: { url: redactUrl(url), reused: prepared.reused },
      machine: machineInfo(),
      sessionSettings: ANALYTICAL_SETTINGS,
      repetitions,
      targetRatio: TARGET_RATIO,
      results,
      realtime,
    };
    const dir = values['results-dir'] ?? join(__dirname, 'results');
    await mkdir(dir, { recursive: true });
    const path = join(dir, `traits-${report.startedAt.replace(/[:.]/g, '-')}.json`);
    await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nreport: ${path}`);
    if (results.some((r) => !r.valuesAgree)) process.exitCode = 1;
  } finally {
    await client.end();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
