import { PrismaPg } from '@prisma/adapter-pg';
import { Client } from 'pg';

import { loadDatabaseConfig } from '../../src/config/app-config';
import { migrate } from '../../src/database/migrator';
import { PrismaClient } from '../../src/generated/prisma/client';
import { PrismaService } from '../../src/prisma/prisma.service';
import { databaseUrl, TEST_SERVER_URL } from './servers';
import { currentRunId, uniqueSuffix } from './test-run';

export { TEST_SERVER_URL };

/**
 * Connections a test's own Prisma client or application may open. Postgres allows 100 by default,
 * and two runs of the suite side by side, each with two Jest workers and up to three applications
 * per test file, must fit in that.
 */
export const TEST_POOL_SIZE = 4;

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function onServer<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: TEST_SERVER_URL });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * `<prefix>_<run id>_<random>`: the run id is how the cleanup knows whose a database is. Postgres
 * cuts names at 63 bytes, so a long prefix is shortened rather than the id.
 */
function databaseName(prefix: string): string {
  const runId = currentRunId();
  const tail = runId ? `_${runId}_${uniqueSuffix()}` : `_${uniqueSuffix(6)}`;
  return `${prefix.slice(0, 63 - tail.length)}${tail}`;
}

function testDatabase(name: string): TestDatabase {
  return {
    name,
    url: databaseUrl(name),
    drop: () =>
      onServer((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** An empty database of its own, with no migrations applied. */
export async function createEmptyDatabase(prefix = 'personae_test'): Promise<TestDatabase> {
  const name = databaseName(prefix);
  await onServer((client) => client.query(`CREATE DATABASE "${name}"`));
  return testDatabase(name);
}

let template: Promise<string> | undefined;

/**
 * The run's template: a database with every migration applied, built once per run by whichever
 * Jest worker needs it first (an advisory lock keeps the others waiting), then closed to
 * connections, because Postgres copies a template only while nobody is connected to it.
 */
function runTemplate(runId: string): Promise<string> {
  template ??= buildTemplate(runId).catch((error: unknown) => {
    template = undefined;
    throw error;
  });
  return template;
}

async function buildTemplate(runId: string): Promise<string> {
  const name = `personae_template_${runId}`;
  return onServer(async (client) => {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
    try {
      const { rows } = await client.query<{ ready: boolean }>(
        'SELECT NOT datallowconn AS ready FROM pg_database WHERE datname = $1',
        [name],
      );
      if (rows[0]?.ready) return name;
      // Still open to connections: a worker died while building it. Start again.
      if (rows[0]) await client.query(`DROP DATABASE "${name}" WITH (FORCE)`);
      await client.query(`CREATE DATABASE "${name}"`);
      await migrate(databaseUrl(name));
      await client.query(`ALTER DATABASE "${name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
      return name;
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [name]);
    }
  });
}

/**
 * A database of its own with every migration applied (a copy of the run's template); call drop()
 * in afterAll. WAL_LOG copies a small template faster than FILE_COPY, which checkpoints twice.
 */
export async function createTestDatabase(prefix?: string): Promise<TestDatabase> {
  const runId = currentRunId();
  if (!runId) {
    // Outside a test run (a benchmark) no teardown would drop a template: migrate this one database.
    const database = await createEmptyDatabase(prefix);
    await migrate(database.url);
    return database;
  }
  const source = await runTemplate(runId);
  const name = databaseName(prefix ?? 'personae_test');
  await onServer((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE "${source}" STRATEGY WAL_LOG`));
  return testDatabase(name);
}

export interface TestPrisma {
  database: TestDatabase;
  prisma: PrismaClient;
  close(): Promise<void>;
}

/** A migrated database of its own with a Prisma client on it, for tests that query without the app. */
export async function createTestPrisma(): Promise<TestPrisma> {
  const database = await createTestDatabase();
  const prisma = new PrismaClient({
    adapter: new PrismaPg({ connectionString: database.url, max: TEST_POOL_SIZE }),
  });
  return {
    database,
    prisma,
    close: async () => {
      await prisma.$disconnect();
      await database.drop();
    },
  };
}

/**
 * Runs `work` against a migrated database of its own through one connection of the app's
 * PrismaService, so that a statement it prepares keeps its plan from call to call, as on a busy
 * pool's connection; closed and dropped afterwards, also when `work` fails.
 */
export async function withOneConnection<T>(work: (database: PrismaService) => Promise<T>): Promise<T> {
  const fresh = await createTestDatabase();
  const single = new PrismaService(loadDatabaseConfig({ DATABASE_URL: fresh.url, DATABASE_POOL_SIZE: '1' }));
  try {
    return await work(single);
  } finally {
    await single.onModuleDestroy();
    await fresh.drop();
  }
}
