/**
 * `npm run bench:accounts` — an account audience over 10,000 accounts / 100,000 members: the time
 * of the compiled target query (what a full computation diffs against current members) next to a
 * hand-written SQL query giving the same accounts, with the ratio. Loads its own dataset once into
 * personae_bench_accounts (or --database-url): 100k profiles, 10 members per account, a Login per
 * member within the last 60 days and "Source Connected" for one member in four. Prints a table and
 * writes bench/results/accounts-<timestamp>.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { Client } from 'pg';

import { parseAudience } from '../src/audiences/language/audience-parser';
import { compileAccountPredicate } from '../src/audiences/language/compiler/account-conditions';
import { migrate } from '../src/database/migrator';
import { ensureDatabase } from './generator/database';
import { machineInfo, redactUrl } from './generator/report';

const NOW = new Date('2026-11-22T12:00:00.000Z');
const WORKSPACE = '0ccea5e5-0000-4000-8000-000000000001';

interface Case {
  key: string;
  definition: string;
  /** The same accounts, as someone would write the query by hand. */
  handWritten: string;
}

const CASES: Case[] = [
  {
    key: 'red-accounts',
    definition: 'no member active within 14 days',
    handWritten: `SELECT count(*)::int AS count FROM groups g WHERE g.workspace_id = $1 AND g.id NOT IN (
      SELECT gm.group_id FROM group_memberships gm JOIN events e ON e.workspace_id = $1 AND e.profile_id = gm.profile_id
      WHERE e.timestamp > $2::timestamptz - interval '14 days' AND e.timestamp <= $2::timestamptz)`,
  },
  {
    key: 'connected-teams',
    definition: 'any member performed "Source Connected" within 30 days and members at least 2',
    handWritten: `SELECT count(*)::int AS count FROM groups g WHERE g.workspace_id = $1
      AND g.id IN (SELECT gm.group_id FROM group_memberships gm JOIN events e ON e.workspace_id = $1 AND e.profile_id = gm.profile_id
                   WHERE e.type = 'track' AND e.name = 'Source Connected'
                     AND e.timestamp > $2::timestamptz - interval '30 days' AND e.timestamp <= $2::timestamptz)
      AND g.id IN (SELECT gm.group_id FROM group_memberships gm GROUP BY gm.group_id HAVING count(*) >= 2)`,
  },
  {
    key: 'business-owners-quiet',
    definition: 'trait plan = "Business" and all members (trait role = "owner" or active within 7 days)',
    handWritten: `SELECT count(*)::int AS count FROM groups g WHERE g.workspace_id = $1 AND g.traits->>'plan' = 'Business'
      AND NOT EXISTS (SELECT 1 FROM group_memberships gm JOIN profiles p ON p.id = gm.profile_id
        WHERE gm.group_id = g.id AND coalesce(p.traits->>'role', '') <> 'owner'
          AND NOT EXISTS (SELECT 1 FROM events e WHERE e.workspace_id = $1 AND e.profile_id = p.id
                          AND e.timestamp > $2::timestamptz - interval '7 days' AND e.timestamp <= $2::timestamptz))`,
  },
];

async function load(client: Client, accounts: number, perAccount: number): Promise<void> {
  // The dataset's shape is in the workspace's name: a load of another shape or version is redone.
  const name = `bench accounts v2 ${accounts}x${perAccount}`;
  const { rows } = await client.query<{ name: string }>('SELECT name FROM workspaces WHERE id = $1', [WORKSPACE]);
  if (rows[0]?.name === name) return;
  await client.query('DELETE FROM workspaces WHERE id = $1', [WORKSPACE]);
  await client.query(`DELETE FROM events WHERE workspace_id = $1`, [WORKSPACE]);
  await client.query(`DELETE FROM groups WHERE workspace_id = $1`, [WORKSPACE]);
  // Named last (below), once everything is loaded: an interrupted load is redone.
  await client.query(`INSERT INTO workspaces (id, name) VALUES ($1, 'loading')`, [WORKSPACE]);
  const profiles = accounts * perAccount;
  // Deterministic pseudo-random spreads from the row number, so reloads give the same data. A
  // profile's last_seen_at is its Login, and its "Source Connected" is older: ingest's invariant
  // (first/last seen bracket every event) holds, as the compiler relies on.
  await client.query(
    `INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
     SELECT md5('p' || i)::uuid, $1::uuid, jsonb_build_object('role', CASE WHEN i % $3 = 0 THEN 'owner' ELSE 'developer' END),
            $2::timestamptz - interval '90 days', $2::timestamptz - ((i::bigint * 7919) % 60) * interval '1 day'
     FROM generate_series(0, $4 - 1) AS i`,
    [WORKSPACE, NOW.toISOString(), perAccount, profiles],
  );
  await client.query(
    `INSERT INTO events (workspace_id, profile_id, source_id, message_id, type, name, timestamp, received_at)
     SELECT $1::uuid, md5('p' || i)::uuid, $1::uuid, 'login-' || i, 'track', 'Login',
            $2::timestamptz - ((i::bigint * 7919) % 60) * interval '1 day', $2::timestamptz
     FROM generate_series(0, $3 - 1) AS i
     UNION ALL
     SELECT $1::uuid, md5('p' || i)::uuid, $1::uuid, 'source-' || i, 'track', 'Source Connected',
            $2::timestamptz - ((i::bigint * 7919) % 60 + (i::bigint * 104729) % 30) * interval '1 day', $2::timestamptz
     FROM generate_series(0, $3 - 1) AS i WHERE i % 4 = 1`,
    [WORKSPACE, NOW.toISOString(), profiles],
  );
  await client.query(
    `INSERT INTO groups (id, workspace_id, group_id, traits, created_at)
     SELECT md5('g' || a)::uuid, $1::uuid, 'account-' || a,
            jsonb_build_object('plan', CASE WHEN a % 3 = 0 THEN 'Business' ELSE 'Pro' END),
            $2::timestamptz - (a % 120) * interval '1 day'
     FROM generate_series(0, $3 - 1) AS a`,
    [WORKSPACE, NOW.toISOString(), accounts],
  );
  // Account a has members a*k … a*k+k-1, except that one account in ten has a single member.
  await client.query(
    `INSERT INTO group_memberships (group_id, profile_id)
     SELECT md5('g' || (i / $1))::uuid, md5('p' || i)::uuid
     FROM generate_series(0, $2 - 1) AS i WHERE (i / $1) % 10 <> 7 OR i % $1 = 0`,
    [perAccount, profiles],
  );
  await client.query('ANALYZE');
  await client.query('UPDATE workspaces SET name = $2 WHERE id = $1', [WORKSPACE, name]);
}

async function time(
  client: Client,
  text: string,
  values: unknown[],
  runs: number,
): Promise<{ seconds: number; count: number }> {
  const times: number[] = [];
  let count = 0;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const { rows } = await client.query<{ count: number }>(text, values);
    times.push((performance.now() - started) / 1000);
    count = rows[0]?.count ?? 0;
  }
  times.sort((a, b) => a - b);
  return { seconds: times[Math.floor(times.length / 2)] ?? 0, count };
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      'database-url': { type: 'string' },
      accounts: { type: 'string', default: '10000' },
      members: { type: 'string', default: '10' },
      runs: { type: 'string', default: '3' },
    },
  });
  const url = args['database-url'] ?? 'postgresql://postgres@127.0.0.1:5432/personae_bench_accounts';
  const accounts = Number(args.accounts);
  const perAccount = Number(args.members);
  const runs = Number(args.runs);
  await ensureDatabase(url);
  await migrate(url);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const loadStarted = performance.now();
    await load(client, accounts, perAccount);
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const results = [];
    for (const c of CASES) {
      const predicate = compileAccountPredicate(parseAudience(c.definition, 'account'), {
        workspaceId: WORKSPACE,
        now: NOW,
      });
      const compiled = await time(
        client,
        `SELECT count(*)::int AS count FROM groups g WHERE g.workspace_id = '${WORKSPACE}' AND ${predicate.text}`,
        predicate.values,
        runs,
      );
      const hand = await time(client, c.handWritten, [WORKSPACE, NOW.toISOString()], runs);
      if (compiled.count !== hand.count) {
        throw new Error(
          `${c.key}: the compiled query found ${compiled.count} accounts, the hand-written one ${hand.count}`,
        );
      }
      const ratio = compiled.seconds / hand.seconds;
      results.push({
        ...c,
        accounts: compiled.count,
        compiledSeconds: compiled.seconds,
        handWrittenSeconds: hand.seconds,
        ratio,
      });
      process.stdout.write(
        `${c.key.padEnd(24)} ${String(compiled.count).padStart(6)} accounts  compiled ${compiled.seconds.toFixed(3)} s  ` +
          `hand-written ${hand.seconds.toFixed(3)} s  ratio ${ratio.toFixed(2)}×   ${c.definition}\n`,
      );
    }
    const report = {
      benchmark: 'accounts',
      at: new Date().toISOString(),
      database: redactUrl(url),
      machine: machineInfo(),
      dataset: { accounts, membersPerAccount: perAccount, profiles: accounts * perAccount, loadSeconds },
      runs,
      results: results.map(({ handWritten: _sql, ...rest }) => rest),
    };
    const dir = join(__dirname, 'results');
    await mkdir(dir, { recursive: true });
    const file = join(dir, `accounts-${report.at.replace(/[:.]/g, '-')}.json`);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`wrote ${file} (load ${loadSeconds.toFixed(1)} s)\n`);
  } finally {
    await client.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
