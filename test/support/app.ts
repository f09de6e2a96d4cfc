import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { createPersonae, Personae } from '../../src/app.factory';
import type { PersonaeOptions } from '../../src/app.module';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { QueueName } from '../../src/queues/queue-names';
import { createTestDatabase, TestDatabase } from './database';
import { waitFor } from './wait-for';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

/** Environment for a Personae process of its own: own database, own queue prefix. */
export function testEnvironment(
  database: TestDatabase,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    QUEUE_PREFIX: `test-${randomBytes(5).toString('hex')}`,
    LOG_LEVEL: 'silent',
    PORT: '0',
    // Test SMTP servers and webhook receivers listen on loopback.
    DESTINATION_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
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
