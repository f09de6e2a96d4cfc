import { randomUUID } from 'node:crypto';

import { Client } from 'pg';

import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { TEST_SERVER_URL } from '../support/database';
import { PrivateRedis } from '../support/redis-server';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/wait-for';

function batchOf(size: number, tag: string) {
  return {
    batch: Array.from({ length: size }, (_, i) => ({
      type: 'track',
      event: 'Outage Probe',
      userId: `user-${tag}-${i % 5}`,
      messageId: `${tag}-${i}-${randomUUID()}`,
      properties: { i },
    })),
  };
}

async function countEvents(url: string, workspaceId: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE workspace_id = $1', [
      workspaceId,
    ]);
    return Number(rows[0]?.n);
  } finally {
    await client.end();
  }
}

describe('tracking through dependency outages', () => {
  describe('Postgres unreachable', () => {
    let proxy: TcpProxy;
    let app: TestApp;
    let workspace: WorkspaceCredentials;

    beforeAll(async () => {
      proxy = await TcpProxy.start(TEST_SERVER_URL);
      // The harness creates the database directly; the application reaches it only through the proxy.
      app = await startTestApp({ ROLE: 'api' }, {}, (url) => proxy.rewrite(url));
      workspace = await createWorkspace(app);
    });
    afterAll(async () => {
      proxy.restore();
      await app.close();
      await proxy.close();
    });

    it('answers 503 with Retry-After while it is down, and a retried batch is stored once after', async () => {
      const before = batchOf(20, 'before');
      await app.http().post('/v1/batch').auth(workspace.writeKey, '').send(before).expect(200);

      proxy.cut();
      const during = batchOf(30, 'during');
      const refused = await app.http().post('/v1/batch').auth(workspace.writeKey, '').send(during);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
      expect(refused.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'the database is unavailable; retry later',
      });
      const health = await app.http().get('/health').expect(503);
      expect(health.body.postgres.status).toBe('down');

      proxy.restore();
      // What a Segment library does: retry the same batch (same messageIds) until it is accepted.
      await waitFor(
        async () => (await app.http().post('/v1/batch').auth(workspace.writeKey, '').send(during)).status === 200,
        { what: 'the batch to be accepted after Postgres returns', timeoutMs: 30_000, intervalMs: 250 },
      );
      await app.http().post('/v1/batch').auth(workspace.writeKey, '').send(during).expect(200);
      expect(await countEvents(app.database.url, workspace.workspaceId)).toBe(50);
    });
  });

  describe('Redis restarted', () => {
    let redis: PrivateRedis;
    let app: TestApp;
    let workspace: WorkspaceCredentials;

    beforeAll(async () => {
      redis = await PrivateRedis.start();
      app = await startTestApp({ ROLE: 'api', REDIS_URL: redis.url });
      workspace = await createWorkspace(app);
    });
    afterAll(async () => {
      await app.close();
      await redis.stop();
    });

    it('keeps accepting and storing every event while Redis is away and after it returns', async () => {
      await app.http().post('/v1/batch').auth(workspace.writeKey, '').send(batchOf(10, 'a')).expect(200);
      await redis.stop();
      await app.http().post('/v1/batch').auth(workspace.writeKey, '').send(batchOf(10, 'b')).expect(200);
      await redis.start();
      await waitFor(async () => (await app.http().get('/health')).status === 200, { what: 'Redis to be back' });
      await app.http().post('/v1/batch').auth(workspace.writeKey, '').send(batchOf(10, 'c')).expect(200);
      expect(await countEvents(app.database.url, workspace.workspaceId)).toBe(30);
    });
  });
});
