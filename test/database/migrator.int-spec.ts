import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from 'pg';

import {
  loadMigrations,
  migrate,
  MigrationChecksumError,
  MigrationFailedError,
  pendingMigrations,
} from '../../src/database/migrator';
import { createEmptyDatabase, TestDatabase } from '../support/database';

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'personae-migrations-'));
  for (const [name, sql] of Object.entries(files)) {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

async function query<T extends object>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('SQL migrator', () => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createEmptyDatabase('personae_migrator');
  });
  afterEach(() => database.drop());

  it('applies the project migrations once and records them as Prisma does', async () => {
    const first = await migrate(database.url);
    const project = await loadMigrations();
    expect(first.applied).toEqual(project.map((m) => m.name));
    const second = await migrate(database.url);
    expect(second).toEqual({ applied: [], alreadyApplied: project.map((m) => m.name) });
    const rows = await query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      database.url,
      'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" ORDER BY migration_name',
    );
    expect(rows.map((r) => [r.migration_name, r.checksum])).toEqual(project.map((m) => [m.name, m.checksum]));
    expect(rows.every((r) => r.finished_at instanceof Date)).toBe(true);
    expect(await pendingMigrations(database.url)).toEqual([]);
  });

  it('applies migrations in name order and only the new ones', async () => {
    const dir = await migrationsDir({
      '2_second': 'INSERT INTO t VALUES (2);',
      '1_first': 'CREATE TABLE t (v int);',
    });
    expect(await pendingMigrations(database.url, dir)).toEqual(['1_first', '2_second']);
    expect((await migrate(database.url, dir)).applied).toEqual(['1_first', '2_second']);
    await mkdir(join(dir, '3_third'));
    await writeFile(join(dir, '3_third', 'migration.sql'), 'INSERT INTO t VALUES (3);');
    expect(await pendingMigrations(database.url, dir)).toEqual(['3_third']);
    expect((await migrate(database.url, dir)).applied).toEqual(['3_third']);
    expect(await query<{ v: number }>(database.url, 'SELECT v FROM t ORDER BY v')).toEqual([{ v: 2 }, { v: 3 }]);
  });

  it('rolls back a failing migration entirely and records nothing', async () => {
    const dir = await migrationsDir({
      '1_ok': 'CREATE TABLE ok (v int);',
      '2_broken': 'CREATE TABLE half (v int); SELECT * FROM no_such_table;',
    });
    await expect(migrate(database.url, dir)).rejects.toThrow(MigrationFailedError);
    await expect(migrate(database.url, dir)).rejects.toThrow(/2_broken failed: relation "no_such_table"/);
    const tables = await query<{ t: string | null }>(database.url, "SELECT to_regclass('half')::text AS t");
    expect(tables).toEqual([{ t: null }]);
    const names = await query<{ migration_name: string }>(
      database.url,
      'SELECT migration_name FROM "_prisma_migrations"',
    );
    expect(names).toEqual([{ migration_name: '1_ok' }]);
  });

  it('refuses to go on when an applied migration was edited', async () => {
    const dir = await migrationsDir({ '1_first': 'CREATE TABLE t (v int);' });
    await migrate(database.url, dir);
    await writeFile(join(dir, '1_first', 'migration.sql'), 'CREATE TABLE t (v bigint);');
    await expect(migrate(database.url, dir)).rejects.toThrow(MigrationChecksumError);
  });

  it('lets concurrent migrators apply each migration exactly once', async () => {
    const results = await Promise.all([migrate(database.url), migrate(database.url), migrate(database.url)]);
    const project = await loadMigrations();
    expect(results.flatMap((r) => r.applied).sort()).toEqual(project.map((m) => m.name).sort());
    const rows = await query<{ n: string }>(database.url, 'SELECT count(*) AS n FROM "_prisma_migrations"');
    expect(Number(rows[0]?.n)).toBe(project.length);
  });
});
