import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import request from 'supertest';

import { createPersonae, Personae } from '../../src/app.factory';
import type { PersonaeOptions } from '../../src/app.module';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { QueueName } from '../../src/queues/queue-names';
import { createTestDatabase, TEST_POOL_SIZE, TestDatabase } from './database';
import { TEST_REDIS_URL } from './servers';
import { currentRunId, uniqueSuffix } from './test-run';
import { waitFor } from './wait-for';

export { TEST_REDIS_URL };
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

/** A Redis prefix of its own, `test-<run id>-…`, which the run's cleanup deletes. */
export function testQueuePrefix(): string {
  const runId = currentRunId();
  return runId ? `test-${runId}-${uniqueSuffix(5)}` : `test-${uniqueSuffix(5)}`;
}

/**
 * The whole environment of a Personae process of its own: own database, own queue prefix, no env
 * file (ENV_FILE=none), a small connection pool. Nothing comes from the environment of the test.
 */
export function testEnvironment(
  database: TestDatabase,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    QUEUE_PREFIX: testQueuePrefix(),
    LOG_LEVEL: 'silent',
    PORT: '0',
    // Test SMTP servers and webhook receivers listen on loopback.
    DESTINATION_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
    ENV_FILE: 'none',
    DATABASE_POOL_SIZE: String(TEST_POOL_SIZE),
    ...overrides,
  };
}

export interface TestApp {
  personae: Personae;
  config: AppConfig;
  database: TestDatabase;
  http(): ReturnType<typeof request>;
  close(): Promise<void>;
}

/** Starts the real application (HTTP + workers by default) against a fresh database. */
export async function startTestApp(
  overrides: Record<string, string> = {},
  options: PersonaeOptions = {},
  /** How the application reaches the test database (e.g. through a proxy a test can cut). */
  databaseUrlFor: (url: string) => string = (url) => url,
): Promise<TestApp> {
  const database = await createTestDatabase();
  const env = testEnvironment(database, overrides);
  const config = loadConfig({ ...env, DATABASE_URL: databaseUrlFor(env.DATABASE_URL ?? database.url) });
  const personae = await createPersonae(config, options);
  const server = personae.http?.getHttpServer();
  return {
    personae,
    config,
    database,
    http: () => {
      if (!server) throw new Error(`role ${config.ROLE} serves no HTTP`);
      return request(server);
    },
    close: async () => {
      await personae.close();
      await database.drop();
    },
  };
}

export interface WorkspaceCredentials {
  workspaceId: string;
  sourceId: string;
  writeKey: string;
  apiToken: string;
}

/** Creates a workspace through the admin API, as a user would. */
export async function createWorkspace(app: TestApp, name = 'Test workspace'): Promise<WorkspaceCredentials> {
  const response = await app
    .http()
    .post('/api/workspaces')
    .set('authorization', `Bearer ${TEST_ADMIN_TOKEN}`)
    .send({ name })
    .expect(201);
  const body = response.body as {
    workspace: { id: string };
    source: { id: string; writeKey: string };
    apiToken: string;
  };
  return {
    workspaceId: body.workspace.id,
    sourceId: body.source.id,
    writeKey: body.source.writeKey,
    apiToken: body.apiToken,
  };
}

/** Resolves once every static queue answers Redis again (after a Redis restart, say). */
export async function waitForQueues(app: TestApp): Promise<void> {
  for (const name of Object.values(QueueName)) {
    const queue = app.personae.app.get<Queue>(getQueueToken(name));
    await waitFor(() => queue.getJobCounts().then(() => true), { what: `queue ${name} to reconnect` });
  }
}
