import { Client } from 'pg';

import { migrate } from '../../src/database/migrator';
import type { Dataset, ResolvedDatasetOptions } from '../../src/demo/generator/dataset';
import { ensureDatabase } from '../generator/database';
import { writeDataset } from '../generator/writer';

/**
 * Loads the benchmark dataset unless the database already holds the identical one: a 10M-event
 * load takes about twelve minutes, so every run after the first reuses it. A load records the
 * generator's options in `bench_datasets`; a database loaded by `npm run bench:data` before this
 * table existed is recognised by its workspace (its id derives from seed and name), its exact row
 * counts and its time range, and then recorded. Either way the database gets pending migrations and,
 * if it was never vacuumed, a VACUUM (ANALYZE), so that it looks like a deployment's.
 */

export interface PreparedDataset {
  workspaceId: string;
  reused: boolean;
  loadSeconds: number;
}

const RECORD_TABLE = `CREATE TABLE IF NOT EXISTS bench_datasets (
  workspace_id uuid PRIMARY KEY,
  options jsonb NOT NULL,
  loaded_at timestamptz NOT NULL DEFAULT now())`;

/** Field by field: jsonb does not keep the key order JSON.stringify wrote. */
function sameOptions(recorded: unknown, wanted: ResolvedDatasetOptions): boolean {
  if (typeof recorded !== 'object' || recorded === null) return false;
  const fields = recorded as Record<string, unknown>;
  return (Object.keys(wanted) as (keyof ResolvedDatasetOptions)[]).every((key) => fields[key] === wanted[key]);
}

async function holdsDataset(client: Client, dataset: Dataset): Promise<boolean> {
  const { options, workspace } = dataset;
  const exists = await client.query<{ present: boolean }>(
    "SELECT to_regclass('bench_datasets') IS NOT NULL AS present",
  );
  if (exists.rows[0]?.present) {
    const { rows } = await client.query<{ options: unknown }>(
      'SELECT options FROM bench_datasets WHERE workspace_id = $1',
      [workspace.id],
    );
    if (rows[0]) return sameOptions(rows[0].options, options);
  }
  const hasWorkspaces = await client.query<{ present: boolean }>(
    "SELECT to_regclass('workspaces') IS NOT NULL AS present",
  );
  if (!hasWorkspaces.rows[0]?.present) return false;
  const { rows } = await client.query<{ profiles: number; events: number; first: Date | null; last: Date | null }>(
    `SELECT (SELECT count(*)::int FROM profiles WHERE workspace_id = $1) AS profiles,
            (SELECT count(*)::int FROM events WHERE workspace_id = $1) AS events,
            (SELECT min(timestamp) FROM events WHERE workspace_id = $1) AS first,
            (SELECT max(timestamp) FROM events WHERE workspace_id = $1) AS last`,
    [workspace.id],
  );
  const row = rows[0];
  if (!row || row.profiles !== options.profiles || row.events !== options.events || !row.first || !row.last)
    return false;
  return row.first.getTime() >= Date.parse(options.windowStart) && row.last.getTime() <= Date.parse(options.now);
}

/**
 * Index-only scans read the heap for every page the visibility map does not mark all-visible, and
 * only VACUUM sets it. In production autovacuum does so soon after inserts; a freshly loaded (or
 * never vacuumed) benchmark database would time heap reads no deployment would see.
 */
async function ensureVacuumed(client: Client, log: (line: string) => void): Promise<void> {
  const { rows } = await client.query<{ visible: number }>(
    "SELECT relallvisible::float8 / greatest(relpages, 1) AS visible FROM pg_class WHERE oid = 'events'::regclass",
  );
  if ((rows[0]?.visible ?? 0) >= 0.95) return;
  log('VACUUM (ANALYZE) events, profiles: the visibility map is not set (about a minute per 10M events)');
  await client.query('VACUUM (ANALYZE) events, profiles');
}

async function record(client: Client, dataset: Dataset): Promise<void> {
  await client.query(RECORD_TABLE);
  await client.query(
    `INSERT INTO bench_datasets (workspace_id, options) VALUES ($1, $2)
     ON CONFLICT (workspace_id) DO UPDATE SET options = EXCLUDED.options, loaded_at = now()`,
    [dataset.workspace.id, JSON.stringify(dataset.options)],
  );
}

export async function prepareDataset(
  dataset: Dataset,
  databaseUrl: string,
  log: (line: string) => void,
): Promise<PreparedDataset> {
  await ensureDatabase(databaseUrl);
  const client = new Client({ connectionString: databaseUrl, application_name: 'personae-bench-audience' });
  await client.connect();
  try {
    if (await holdsDataset(client, dataset)) {
      await record(client, dataset);
      // The queries are timed against the indexes the code expects: a reused database gets the
      // migrations added since it was loaded (a new events index takes about a minute at 10M).
      const { applied } = await migrate(databaseUrl);
      if (applied.length > 0) log(`applied ${applied.join(', ')}`);
      await ensureVacuumed(client, log);
      return { workspaceId: dataset.workspace.id, reused: true, loadSeconds: 0 };
    }
    log('the database does not hold this dataset: loading it (about 75 s per million events)');
    await migrate(databaseUrl);
    const started = performance.now();
    await writeDataset(dataset, {
      databaseUrl,
      onProgress: (progress) =>
        log(`  ${progress.elapsedSeconds.toFixed(0)}s  events ${progress.events.toLocaleString('en-US')}`),
    });
    await record(client, dataset);
    await ensureVacuumed(client, log);
    return { workspaceId: dataset.workspace.id, reused: false, loadSeconds: (performance.now() - started) / 1000 };
  } finally {
    await client.end();
  }
}
