import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Client } from 'pg';

import { ANALYTICAL_SETTINGS } from '../src/database/query-settings';
import { DEFAULT_NOW, DEFAULT_SEED, generateDataset, InvalidDatasetOptionsError } from '../src/demo/generator/dataset';
import { Prisma } from '../src/generated/prisma/client';
import { AccountTraitAst } from '../src/traits/language/account-trait-ast';
import { accountTraitTargetQuery, compileAccountTrait } from '../src/traits/language/compiler/account-values';
import { compileTrait, traitTargetQuery } from '../src/traits/language/compiler/trait-compiler';
import { TraitAst } from '../src/traits/language/trait-ast';
import { parseAccountTrait, parseTrait } from '../src/traits/language/trait-parser';
import {
  initialValuesStatement,
  traitValuesStatement,
  valuesDiffStatement,
} from '../src/traits/trait-values.repository';
import { prepareDataset } from './audience/dataset';
import { machineInfo, redactUrl } from './generator/report';

const USAGE = `Times the full computation of computed traits (the statements the engine runs: the first computation
writes values and their history straight from the definition, a later one diffs against the stored
values and writes upserts, deletes and history) next to a hand-written GROUP BY + upsert of the same
values into tables of the product's shape — with the history the product writes (the goal's
baseline) and without it — first into empty tables and then again with nothing changed; an account
trait (count by members over 10,000 accounts, every profile a member of one); and the
real-time update of batches of touched profiles (every profile trait, one transaction, as the batch
participant runs it).

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
  level: 'profile' | 'account';
  /**
   * The same values by hand, as rows (profile_id, value): $1 workspace, $2 now. The hand-written
   * statements write them into tables of the product's shape (see handStatements).
   */
  select: string;
}

const CASES: BenchCase[] = [
  {
    key: 'page_views_30d',
    definition: 'count "Page Viewed" within 30 days',
    level: 'profile',
    select: `SELECT p.id AS profile_id, to_jsonb(coalesce(c.n, 0)) AS value
      FROM profiles p LEFT JOIN (
        SELECT profile_id, count(*) AS n FROM events
        WHERE workspace_id = $1::uuid AND type = 'track' AND name = 'Page Viewed'
          AND timestamp > $2::timestamptz - interval '30 days' AND timestamp <= $2::timestamptz
        GROUP BY profile_id) c ON c.profile_id = p.id
      WHERE p.workspace_id = $1::uuid AND p.merged_into_id IS NULL`,
  },
  {
    key: 'revenue_90d',
    definition: 'sum "Order Completed".revenue within 90 days',
    level: 'profile',
    select: `SELECT e.profile_id, to_jsonb(sum((e.properties->>'revenue')::float8::numeric)) AS value
      FROM events e JOIN profiles p ON p.id = e.profile_id AND p.merged_into_id IS NULL
      WHERE e.workspace_id = $1::uuid AND e.type = 'track' AND e.name = 'Order Completed'
        AND e.timestamp > $2::timestamptz - interval '90 days' AND e.timestamp <= $2::timestamptz
        AND jsonb_typeof(e.properties->'revenue') = 'number'
      GROUP BY e.profile_id`,
  },
  {
    key: 'top_category',
    definition: 'most frequent "Page Viewed".category',
    level: 'profile',
    select: `SELECT DISTINCT ON (g.profile_id) g.profile_id, g.v AS value
      FROM (SELECT e.profile_id, e.properties->'category' AS v, count(*) AS n, max(e.timestamp) AS latest
            FROM events e JOIN profiles p ON p.id = e.profile_id AND p.merged_into_id IS NULL
            WHERE e.workspace_id = $1::uuid AND e.type = 'track' AND e.name = 'Page Viewed'
              AND e.timestamp <= $2::timestamptz AND jsonb_typeof(e.properties->'category') <> 'null'
            GROUP BY 1, 2) g
      ORDER BY g.profile_id, g.n DESC, g.latest DESC, g.v::text COLLATE "C"`,
  },
  {
    // The dataset has no "Login"; "Page Viewed" is its busiest event, so this is the heavier case.
    key: 'account_page_views_14d',
    definition: 'count "Page Viewed" by members within 14 days',
    level: 'account',
    select: `SELECT g.id AS profile_id, to_jsonb(coalesce(c.n, 0)) AS value
      FROM groups g LEFT JOIN (
        SELECT gm.group_id, count(*) AS n
        FROM events e JOIN group_memberships gm ON gm.profile_id = e.profile_id
          JOIN profiles p ON p.id = e.profile_id AND p.merged_into_id IS NULL
        WHERE e.workspace_id = $1::uuid AND e.type = 'track' AND e.name = 'Page Viewed'
          AND e.timestamp > $2::timestamptz - interval '14 days' AND e.timestamp <= $2::timestamptz
        GROUP BY gm.group_id) c ON c.group_id = g.id
      WHERE g.workspace_id = $1::uuid`,
  },
];

/** Accounts for the account case: 10,000 groups, each live profile a member of one (by id order). */
const BENCH_ACCOUNTS = 10_000;

/**
 * Hand-written writes of the same values into tables shaped like the product's (bench_trait_values
 * and bench_trait_history are LIKE computed_trait_values / computed_trait_history, indexes included):
 * `valuesOnly` is the GROUP BY + upsert; `withHistory` also logs every value written, as the product
 * must on a first computation (each value is a change from "no value"), in one statement.
 * $1 workspace, $2 now, $3 trait id.
 */
function handStatements(select: string): { valuesOnly: string; withHistory: string } {
  const upsert = `INSERT INTO bench_trait_values (trait_id, workspace_id, profile_id, value, updated_at)
    SELECT $3::uuid, $1::uuid, s.profile_id, s.value, $2::timestamptz FROM (${select}) s
    ON CONFLICT (trait_id, profile_id) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`;
  return {
    valuesOnly: upsert,
    withHistory: `WITH written AS (${upsert} RETURNING profile_id, value)
      INSERT INTO bench_trait_history (workspace_id, trait_id, profile_id, old_value, new_value, at)
      SELECT $1::uuid, $3::uuid, profile_id, NULL, value, $2::timestamptz FROM written`,
  };
}

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

interface Statement {
  text: string;
  values: unknown[];
}

/** Times `statements` (run in order) in a transaction that is rolled back, so every run starts alike. */
async function timedInRollback(client: Client, statements: Statement[]): Promise<number> {
  await client.query('BEGIN');
  try {
    for (const [name, value] of Object.entries(ANALYTICAL_SETTINGS)) {
      await client.query('SELECT set_config($1, $2, true)', [name, value]);
    }
    const started = performance.now();
    for (const statement of statements) await client.query(statement.text, statement.values);
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
    // Tables of the product's shape for the hand-written statements (recreated: older runs made a
    // narrower bench_trait_values).
    await client.query('DROP TABLE IF EXISTS bench_trait_values, bench_trait_history');
    await client.query('CREATE TABLE bench_trait_values (LIKE computed_trait_values INCLUDING ALL)');
    await client.query('CREATE TABLE bench_trait_history (LIKE computed_trait_history INCLUDING ALL)');
    await client.query('DELETE FROM computed_traits WHERE workspace_id = $1', [workspaceId]);
    await client.query('DELETE FROM computed_trait_values WHERE workspace_id = $1', [workspaceId]);
    await client.query('DELETE FROM computed_trait_history WHERE workspace_id = $1', [workspaceId]);
    const accounts = await ensureAccounts(client, workspaceId);
    console.error(`accounts: ${accounts.accounts} with ${accounts.members} members`);
    await client.query('VACUUM (ANALYZE) computed_trait_values, computed_trait_history');

    const results = [];
    const traits: { id: string; benchCase: BenchCase }[] = [];
    for (const benchCase of CASES) {
      console.error(`  ${benchCase.key}…`);
      const traitId = randomUUID();
      const ast =
        benchCase.level === 'account' ? parseAccountTrait(benchCase.definition) : parseTrait(benchCase.definition);
      await client.query(
        `INSERT INTO computed_traits (id, workspace_id, key, name, level, definition_ast, definition_text)
         VALUES ($1, $2, $3, $3, $4::subject_level, $5, $6)`,
        [traitId, workspaceId, benchCase.key, benchCase.level, JSON.stringify(ast), benchCase.definition],
      );
      if (benchCase.level === 'profile') traits.push({ id: traitId, benchCase });
      const update = { traitId, workspaceId, now };
      const target =
        benchCase.level === 'account'
          ? accountTraitTargetQuery(compileAccountTrait(ast as AccountTraitAst, { workspaceId, now }), {
              workspaceId,
              now,
            })
          : traitTargetQuery(
              compileTrait(ast as TraitAst, { workspaceId, now }),
              Prisma.sql`p.workspace_id = ${workspaceId}::uuid AND p.merged_into_id IS NULL`,
            );
      // What TraitValuesRepository.applyValues runs for a full computation: whether the trait has
      // stored values, then the first-computation statement or the diff.
      const check = {
        text: 'SELECT NOT EXISTS (SELECT 1 FROM computed_trait_values WHERE trait_id = $1::uuid) AS empty',
        values: [traitId],
      };
      const initial = initialValuesStatement(update, target);
      const diff = valuesDiffStatement(update, target, undefined);
      const engineInitial = [check, { text: initial.text, values: initial.values }];
      const engineAgain = [check, { text: diff.text, values: diff.values }];
      const params = [workspaceId, now.toISOString(), traitId];
      const hand = handStatements(benchCase.select);
      const handValues = [{ text: hand.valuesOnly, values: params }];
      const handHistory = [{ text: hand.withHistory, values: params }];

      // Into empty tables: every value is new (and a change from "no value", logged).
      const initialEngine = await timing(() => timedInRollback(client, engineInitial), repetitions);
      const initialHand = await timing(() => timedInRollback(client, handHistory), repetitions);
      const initialHandValues = await timing(() => timedInRollback(client, handValues), repetitions);
      // Then kept for good, and computed again with nothing changed.
      for (const statement of engineInitial) await client.query(statement.text, statement.values);
      await client.query(hand.valuesOnly, params);
      const steadyEngine = await timing(() => timedInRollback(client, engineAgain), repetitions);
      const steadyHand = await timing(() => timedInRollback(client, handValues), repetitions);
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
        level: benchCase.level,
        values: agree.rows[0]?.values ?? 0,
        valuesAgree: agree.rows[0]?.differ === 0,
        initial: {
          engine: initialEngine,
          handWritten: initialHand,
          ratio: round(initialEngine.medianMs / initialHand.medianMs),
          handWrittenValuesOnly: initialHandValues,
          ratioToValuesOnly: round(initialEngine.medianMs / initialHandValues.medianMs),
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
      'hand+history ms',
      `ratio (goal <= ${TARGET_RATIO}x)`,
      'hand values-only ms',
      'ratio',
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
      r.initial.handWrittenValuesOnly.medianMs.toFixed(1),
      `${r.initial.ratioToValuesOnly.toFixed(2)}x`,
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
      `\nFull computation at ${now.toISOString()}, median of ${repetitions} runs after a warm-up, each in a rolled-back transaction;`,
    );
    console.log(
      `first computation into empty tables next to a hand-written GROUP BY + upsert that also writes the history (and without it);`,
    );
    console.log(`then again with nothing changed next to the hand-written upsert. Load: ${loadAverage()}\n`);
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
      loadAverage: loadAverage(),
      accounts,
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

function loadAverage(): string {
  return `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')} on ${cpus().length} cores`;
}

/**
 * BENCH_ACCOUNTS groups and every live profile a member of one of them (the n-th by id of group
 * n mod BENCH_ACCOUNTS), created once per database with deterministic ids.
 */
async function ensureAccounts(client: Client, workspaceId: string): Promise<{ accounts: number; members: number }> {
  await client.query(
    `INSERT INTO groups (id, workspace_id, group_id, traits, created_at)
     SELECT md5($1::text || '-account-' || i)::uuid, $1::uuid, 'account-' || i, '{}'::jsonb,
            $2::timestamptz - make_interval(hours => i)
     FROM generate_series(0, $3::int - 1) AS i
     ON CONFLICT (workspace_id, group_id) DO NOTHING`,
    [workspaceId, DEFAULT_NOW, BENCH_ACCOUNTS],
  );
  await client.query(
    `INSERT INTO group_memberships (group_id, profile_id)
     SELECT md5($1::text || '-account-' || (p.n % $2::int))::uuid, p.id
     FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM profiles
           WHERE workspace_id = $1::uuid AND merged_into_id IS NULL) p
     ON CONFLICT DO NOTHING`,
    [workspaceId, BENCH_ACCOUNTS],
  );
  await client.query('ANALYZE groups, group_memberships');
  const { rows } = await client.query<{ accounts: number; members: number }>(
    `SELECT (SELECT count(*)::int FROM groups WHERE workspace_id = $1) AS accounts,
            (SELECT count(*)::int FROM group_memberships gm JOIN groups g ON g.id = gm.group_id
             WHERE g.workspace_id = $1) AS members`,
    [workspaceId],
  );
  return rows[0] ?? { accounts: 0, members: 0 };
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
