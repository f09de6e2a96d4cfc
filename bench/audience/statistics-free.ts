import { Client } from 'pg';

import { redactUrl } from '../generator/report';

/**
 * A copy of the dataset database as a deployment sees it before ANALYZE ever ran (autovacuum off,
 * or a table young enough that autovacuum has not reached it): same rows and indexes, no
 * statistics. CREATE DATABASE … TEMPLATE copies pg_statistic and the row counts in pg_class along
 * with the data, so the copy's are cleared: the planner then falls back to its defaults (an
 * equality keeps 0.5% of the rows, tables are sized from their pages), exactly as on a table that
 * was never analysed. Needs a superuser (pg_statistic is a catalog); the copy is dropped after use.
 */
export async function withStatisticsFreeCopy<T>(
  databaseUrl: string,
  log: (line: string) => void,
  work: (copyUrl: string) => Promise<T>,
): Promise<T> {
  const source = new URL(databaseUrl);
  const name = decodeURIComponent(source.pathname.replace(/^\//, ''));
  const copyName = `${name}_no_statistics`;
  const copy = new URL(databaseUrl);
  copy.pathname = `/${copyName}`;
  const server = new URL(databaseUrl);
  server.pathname = '/postgres';
  const admin = new Client({ connectionString: server.toString(), application_name: 'personae-bench-audience' });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(copyName)} WITH (FORCE)`);
    log(`copying ${redactUrl(databaseUrl)} to ${copyName} (a file copy: about a second per 100 MB)`);
    // The source must have no other session while it is copied.
    await admin.query(
      `CREATE DATABASE ${admin.escapeIdentifier(copyName)} TEMPLATE ${admin.escapeIdentifier(name)} STRATEGY FILE_COPY`,
    );
    await forgetStatistics(copy.toString());
    return await work(copy.toString());
  } finally {
    await admin
      .query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(copyName)} WITH (FORCE)`)
      .catch(() => undefined);
    await admin.end();
  }
}

async function forgetStatistics(url: string): Promise<void> {
  const client = new Client({ connectionString: url, application_name: 'personae-bench-audience' });
  await client.connect();
  try {
    await client.query(`DELETE FROM pg_statistic
      WHERE starelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)`);
    await client.query(`UPDATE pg_class SET reltuples = -1, relpages = 0, relallvisible = 0
      WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'i')`);
    // Whatever the server's autovacuum setting, the copy stays without statistics while it is timed.
    for (const table of ['events', 'profiles', 'identities', 'audience_members']) {
      await client.query(`ALTER TABLE ${client.escapeIdentifier(table)} SET (autovacuum_enabled = false)`);
    }
    const { rows } = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stats WHERE schemaname = 'public' AND tablename IN ('events', 'profiles')",
    );
    if ((rows[0]?.n ?? 0) !== 0) throw new Error('the statistics-free copy still has statistics');
  } finally {
    await client.end();
  }
}
