import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createWorkspace, startTestApp, TEST_ADMIN_TOKEN, TestApp, WorkspaceCredentials } from '../support/app';
import { PrivateRedis } from '../support/redis-server';
import { waitFor } from '../support/wait-for';

const LIMIT = 5;

interface Answer {
  status: number;
  retryAfter?: string;
}

/** Listens on an ephemeral port so that requests can come from different loopback addresses. */
async function listen(app: TestApp): Promise<{ port: number; close: () => Promise<void> }> {
  const server = app.personae.http!.getHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** One request from `from` (an address of 127.0.0.0/8), as a distinct client. */
function call(
  port: number,
  from: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        localAddress: from,
        method,
        path,
        agent: false,
        headers: { ...headers, ...(payload && { 'content-type': 'application/json' }) },
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] as string }),
        );
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const basic = (user: string) => ({ authorization: `Basic ${Buffer.from(`${user}:`).toString('base64')}` });

describe('failed authentication limits per client address', () => {
  let app: TestApp;
  let ws: WorkspaceCredentials;
  let port: number;
  let stop: () => Promise<void>;
  const prefix = `test-${randomBytes(5).toString('hex')}`;

  beforeAll(async () => {
    app = await startTestApp({ AUTH_FAILURE_LIMIT: String(LIMIT), QUEUE_PREFIX: prefix });
    ws = await createWorkspace(app);
    ({ port, close: stop } = await listen(app));
  });

  afterAll(async () => {
    await stop();
    await app.close();
  });

  it('answers 429 with Retry-After past the limit of wrong API tokens, right ones included, and only for that address', async () => {
    const from = '127.0.0.11';
    const good = () => call(port, from, 'GET', '/api/workspace', bearer(ws.apiToken));
    const wrong = () => call(port, from, 'GET', '/api/workspace', bearer('prs_wrong'));
    for (let i = 0; i < LIMIT; i++) {
      expect((await wrong()).status).toBe(401);
      // Until the limit, the address's good requests go through.
      expect((await good()).status).toBe(200);
    }
    const refused = await wrong();
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    const goodRefused = await good();
    expect(goodRefused.status).toBe(429);
    expect(goodRefused.retryAfter).toBeDefined();
    // Another client is not affected.
    expect((await call(port, '127.0.0.12', 'GET', '/api/workspace', bearer(ws.apiToken))).status).toBe(200);
  });

  it('counts wrong write keys, admin tokens, metrics tokens and dashboard passwords alike', async () => {
    const from = '127.0.0.13';
    const attempts = [
      () => call(port, from, 'POST', '/v1/track', basic('wk_wrong'), { userId: 'u', event: 'E' }),
      () => call(port, from, 'POST', '/api/workspaces', bearer('wrong-admin-token-000000'), { name: 'x' }),
      () => call(port, from, 'GET', '/metrics', bearer('wrong-metrics-token-00000')),
      () =>
        call(port, from, 'GET', '/admin/queues', {
          authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}`,
        }),
      () =>
        call(
          port,
          from,
          'POST',
          '/v1/track',
          { 'content-type': 'application/json' },
          { writeKey: 'wk_x', event: 'E', userId: 'u' },
        ),
    ];
    for (const attempt of attempts) expect((await attempt()).status).toBe(401);
    const tracking = await call(port, from, 'POST', '/v1/track', basic(ws.writeKey), { userId: 'u', event: 'E' });
    expect(tracking.status).toBe(200);
    const refused = await call(port, from, 'POST', '/v1/track', basic('wk_wrong'), { userId: 'u', event: 'E' });
    expect(refused).toMatchObject({ status: 429, retryAfter: expect.stringMatching(/^\d+$/) });
    expect((await call(port, from, 'POST', '/v1/track', basic(ws.writeKey), { userId: 'u', event: 'E' })).status).toBe(
      429,
    );
    expect((await call(port, from, 'GET', '/admin/queues', bearer(TEST_ADMIN_TOKEN))).status).toBe(429);
    expect((await call(port, from, 'GET', '/metrics', bearer(TEST_ADMIN_TOKEN))).status).toBe(429);
  });

  it('holds across processes sharing Redis', async () => {
    const other = await startTestApp({ AUTH_FAILURE_LIMIT: String(LIMIT), QUEUE_PREFIX: prefix, ROLE: 'api' });
    const otherServer = await listen(other);
    try {
      const from = '127.0.0.14';
      for (let i = 0; i < LIMIT; i++) {
        expect((await call(otherServer.port, from, 'GET', '/api/workspace', bearer('prs_wrong'))).status).toBe(401);
      }
      expect((await call(otherServer.port, from, 'GET', '/api/workspace', bearer('prs_wrong'))).status).toBe(429);
      // The first process learns it from Redis (within its one-second recheck).
      await waitFor(
        async () =>
          (await call(port, from, 'POST', '/api/workspaces', bearer(TEST_ADMIN_TOKEN), { name: 'x' })).status === 429,
        { what: 'the other process to refuse the address too' },
      );
    } finally {
      await otherServer.close();
      await other.close();
    }
  });
});

describe('failed authentication limits while Redis is down', () => {
  it('fails open: wrong credentials get 401, right ones 200', async () => {
    const redis = await PrivateRedis.start();
    const app = await startTestApp({ AUTH_FAILURE_LIMIT: '2', ROLE: 'api', REDIS_URL: redis.url });
    try {
      const ws = await createWorkspace(app);
      await redis.stop();
      for (let i = 0; i < 5; i++) {
        await app.http().get('/api/workspace').set(bearer('prs_wrong')).expect(401);
      }
      await app.http().get('/api/workspace').set(bearer(ws.apiToken)).expect(200);
    } finally {
      await app.close();
      await redis.stop();
    }
  });
});
