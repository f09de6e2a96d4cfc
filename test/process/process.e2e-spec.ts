import { testEnvironment } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/database';
import { runTs } from '../support/processes';
import { freePort } from '../support/redis-server';

describe('the personae process', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it('refuses to start with a message naming each bad variable', async () => {
    const env = testEnvironment(database, { PORT: 'not-a-port', REDIS_URL: 'localhost' });
    const result = await runTs('src/main.ts', [], env).finished;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid configuration');
    expect(result.stderr).toContain('PORT must be an integer');
    expect(result.stderr).toContain('REDIS_URL must be a redis:// or rediss:// URL');
  });

  it('refuses to start without ADMIN_TOKEN', async () => {
    const { ADMIN_TOKEN: _, ...env } = testEnvironment(database);
    const result = await runTs('src/main.ts', [], env).finished;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ADMIN_TOKEN is required/);
  });

  it('serves HTTP in role all and shuts down cleanly on SIGTERM', async () => {
    const port = await freePort();
    const running = runTs('src/main.ts', [], testEnvironment(database, { PORT: String(port), LOG_LEVEL: 'info' }));
    await running.waitForOutput('listening on');
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/api/workspace`)).status).toBe(401);
    running.kill('SIGTERM');
    const result = await running.finished;
    expect(result.code).toBe(0);
    // JSON logs, one object a line, with the request id of the call above.
    const lines = result.stdout.split('\n').filter((line) => line.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    const entries = lines.map((line) => JSON.parse(line) as { requestId?: string; msg?: string });
    expect(entries).toContainEqual(
      expect.objectContaining({ msg: 'request completed', requestId: expect.any(String) }),
    );
  });

  it('runs the worker role without an HTTP server', async () => {
    const port = await freePort();
    const running = runTs('src/main.ts', [], testEnvironment(database, { ROLE: 'worker', PORT: String(port) }));
    await running.waitForOutput('processing jobs');
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    running.kill('SIGTERM');
    expect((await running.finished).code).toBe(0);
  });
});
