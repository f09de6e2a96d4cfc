import { Client, type ClientBase, DatabaseError } from 'pg';

/** Database chores around a benchmark load: create the database, clear a previous load, index juggling. */

export const DEFAULT_BENCH_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/personae_bench';

const INVALID_CATALOG_NAME = '3D000';

export type ClearOutcome = 'fresh' | 'truncated' | 'deleted';

export interface IndexDefinition {
  name: string;
  definition: string;
}

/** Creates the database named in `url` when it does not exist yet; returns whether it did. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const probe = new Client({ connectionString: url });
  try {
    await probe.connect();
    return false;
  } catch (error) {
    if (!(error instanceof DatabaseError) || error.code !== INVALID_CATALOG_NAME) throw error;
  } finally {
    await probe.end().catch(() => undefined);
  }
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  target.pathname = '/postgres';
  const server = new Client({ connectionString: target.toString() });
  await server.connect();
  try {
    await server.query(`CREATE DATABASE ${server.escapeIdentifier(name)}`);
  } finally {
    await server.end();
  }
  return true;
}

/**
 * Removes what a previous load of this workspace left behind. When the database holds no other
 * workspace, the tables are truncated with their sequences reset, which is fast and makes the
 * BIGSERIAL event ids of a reload identical too; otherwise only this workspace's rows go.
 */
export async function clearWorkspace(client: ClientBase, workspaceId: string): Promise<ClearOutcome> {
  const { rows } = await client.query<{ total: number; ours: number }>(
    'SELECT count(*)::int AS total, (count(*) FILTER (WHERE id = $1))::int AS ours FROM workspaces',
    [workspaceId],
  );
  const total = rows[0]?.total ?? 0;
  const ours = rows[0]?.ours ?? 0;
  if (total === ours) {
    // CASCADE reaches every table with a foreign key to these; events and the logs have none.
    await client.query(
      'TRUNCATE workspaces, events, identities, profile_merges, profile_changes, groups RESTART IDENTITY CASCADE',
    );
    return ours === 0 ? 'fresh' : 'truncated';
  }
  if (ours === 0) return 'fresh';
  await client.query('BEGIN');
  try {
    for (const table of ['events', 'profile_merges', 'profile_changes', 'groups']) {
      await client.query(`DELETE FROM ${client.escapeIdentifier(table)} WHERE workspace_id = $1`, [workspaceId]);
    }
    await client.query('DELETE FROM workspaces WHERE id = $1', [workspaceId]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
  return 'deleted';
}

/**
 * Drops the plain (non-unique, non-primary) indexes of a table and returns their definitions as
 * PostgreSQL prints them, so `createIndexes` restores them exactly. Unique indexes stay: they are
 * constraints the load must honour.
 */
export async function dropSecondaryIndexes(client: ClientBase, table: string): Promise<IndexDefinition[]> {
  const { rows } = await client.query<IndexDefinition>(
    `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = $1::regclass AND NOT i.indisunique AND NOT i.indisprimary
      ORDER BY c.relname`,
    [table],
  );
  for (const index of rows) await client.query(`DROP INDEX ${client.escapeIdentifier(index.name)}`);
  return rows;
}

export async function createIndexes(client: ClientBase, indexes: readonly IndexDefinition[]): Promise<void> {
  for (const index of indexes) await client.query(index.definition);
}
