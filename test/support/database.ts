import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { migrate } from '../../src/database/migrator';
import { PrismaClient } from '../../src/generated/prisma/client';

/** Server that test databases are created on; the harness connects to its `postgres` database. */
export const TEST_SERVER_URL = process.env.TEST_DATABASE_SERVER_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function urlFor(database: string): string {
  const url = new URL(TEST_SERVER_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function onServer<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: TEST_SERVER_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** An empty database of its own, with no migrations applied. */
export async function createEmptyDatabase(prefix = 'personae_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await onServer((client) => client.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    url: urlFor(name),
    drop: () =>
      onServer((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** A database of its own with every migration applied; call drop() in afterAll. */
export async function createTestDatabase(prefix?: string): Promise<TestDatabase> {
  const database = await createEmptyDatabase(prefix);
  await migrate(database.url);
  return database;
}

export interface TestPrisma {
  database: TestDatabase;
  prisma: PrismaClient;
  close(): Promise<void>;
}

/** A migrated database of its own with a Prisma client on it, for tests that query without the app. */
export async function createTestPrisma(): Promise<TestPrisma> {
  const database = await createTestDatabase();
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: database.url }) });
  return {
    database,
    prisma,
    close: async () => {
      await prisma.$disconnect();
      await database.drop();
    },
  };
}
