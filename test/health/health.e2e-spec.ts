import { startTestApp, TestApp, waitForQueues } from '../support/app';
import { PrivateRedis } from '../support/redis-server';
import { waitFor } from '../support/wait-for';

describe('GET /health', () => {
  describe('with Postgres and Redis up', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ ROLE: 'api' });
    });
    afterAll(() => app.close());

    it('reports both up with 200', async () => {
      const response = await app.http().get('/health').expect(200);
      expect(response.body).toEqual({
        status: 'ok',
        postgres: { status: 'up', latencyMs: expect.any(Number) },
        redis: { status: 'up', latencyMs: expect.any(Number) },
      });
    });

    it('serves the OpenAPI document at /docs', async () => {
      const json = await app.http().get('/docs/json').expect(200);
      expect(json.body.paths).toHaveProperty('/health');
      expect(json.body.paths).toHaveProperty('/api/workspaces');
      await app.http().get('/docs').expect(200).expect('content-type', /html/);
    });

    it('echoes a request id, or makes one', async () => {
      const given = await app.http().get('/health').set('x-request-id', 'abc-123').expect(200);
      expect(given.headers['x-request-id']).toBe('abc-123');
      const made = await app.http().get('/health').expect(200);
      expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('when Postgres is unreachable', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ ROLE: 'api', DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/personae' });
    });
    afterAll(() => app.close());

    it('answers 503 naming Postgres, with Redis still up', async () => {
      const response = await app.http().get('/health').expect(503);
      expect(response.body).toMatchObject({
        status: 'unavailable',
        postgres: { status: 'down', error: expect.any(String) },
        redis: { status: 'up' },
      });
    });
  });

  describe('when Redis goes down and comes back', () => {
    let app: TestApp;
    let redis: PrivateRedis;
    beforeAll(async () => {
      redis = await PrivateRedis.start();
      app = await startTestApp({ ROLE: 'api', REDIS_URL: redis.url });
    });
    afterAll(async () => {
      await app.close();
      await redis.stop();
    });

    it('answers 503 naming Redis while it is down, then 200 again without a restart', async () => {
      await app.http().get('/health').expect(200);
      await redis.stop();
      const down = await waitFor(
        async () => {
          const response = await app.http().get('/health');
          return response.status === 503 ? response : undefined;
        },
        { what: '503 from /health' },
      );
      expect(down.body).toMatchObject({
        postgres: { status: 'up' },
        redis: { status: 'down', error: expect.any(String) },
      });
      await redis.start();
      await waitFor(async () => (await app.http().get('/health')).status === 200, { what: '200 from /health' });
      await waitForQueues(app);
    });
  });
});
