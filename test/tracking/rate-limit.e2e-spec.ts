import { ManualClock } from '../../src/common/clock';
import { RedisService } from '../../src/redis/redis.service';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { basicAuth, TestSql } from './tracking-support';

describe('ingest rate limits (token buckets in events and bytes per source)', () => {
  let app: TestApp;
  let sql: TestSql;
  // Just before a whole second: where a fixed one-second window would start afresh 2 ms later.
  const clock = new ManualClock('2026-01-01T00:00:00.998Z');

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' }, { clock });
    sql = await TestSql.connect(app);
  });
  afterAll(async () => {
    await sql.close();
    await app.close();
  });

  const batchOf = (events: number, bytesEach = 0) => ({
    batch: Array.from({ length: events }, () => ({
      type: 'track',
      userId: 'limited',
      event: 'Limited',
      properties: bytesEach > 0 ? { pad: 'x'.repeat(bytesEach) } : {},
    })),
  });
  const send = (ws: WorkspaceCredentials, body: object) =>
    app.http().post('/v1/batch').set('authorization', basicAuth(ws.writeKey)).send(body);

  it('does not let twice the rate through at a second boundary, and refills continuously', async () => {
    const ws = await createWorkspace(app, 'Events limited');
    await sql.setWorkspaceSettings(ws.workspaceId, { tracking: { rateLimitPerSecond: 100 } });
    await send(ws, batchOf(100)).expect(200);
    clock.advance(2);
    const refused = await send(ws, batchOf(100)).expect(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    clock.advance(500);
    await send(ws, batchOf(60)).expect(429);
    await send(ws, batchOf(45)).expect(200);
    clock.advance(1_000);
    await send(ws, batchOf(100)).expect(200);
    // A batch larger than the whole bucket passes when the bucket is full, then the source waits.
    clock.advance(1_000);
    await send(ws, batchOf(250)).expect(200);
    clock.advance(1_000);
    const waiting = await send(ws, batchOf(1)).expect(429);
    expect(waiting.headers['retry-after']).toBe('1');
    clock.advance(1_000);
    await send(ws, batchOf(1)).expect(200);
    expect(await sql.count('SELECT count(*) FROM events WHERE workspace_id = $1', [ws.workspaceId])).toBe(496);
  });

  it('limits bytes per second too: few large events pass no faster than the byte budget', async () => {
    const ws = await createWorkspace(app, 'Bytes limited');
    await sql.setWorkspaceSettings(ws.workspaceId, {
      tracking: { rateLimitPerSecond: 10_000, bytesPerSecond: 40_000 },
    });
    clock.advance(5_000);
    await send(ws, batchOf(16, 1_000)).expect(200);
    await send(ws, batchOf(16, 1_000)).expect(200);
    const refused = await send(ws, batchOf(16, 1_000)).expect(429);
    expect(refused.headers['retry-after']).toBe('1');
    clock.advance(450);
    await send(ws, batchOf(16, 1_000)).expect(200);
  });

  it('keeps each source to its own buckets', async () => {
    const busy = await createWorkspace(app, 'Busy');
    const quiet = await createWorkspace(app, 'Quiet');
    for (const ws of [busy, quiet])
      await sql.setWorkspaceSettings(ws.workspaceId, { tracking: { rateLimitPerSecond: 10 } });
    clock.advance(5_000);
    await send(busy, batchOf(10)).expect(200);
    await send(busy, batchOf(10)).expect(429);
    await send(quiet, batchOf(10)).expect(200);
  });

  it('still limits after Redis forgets its scripts (a restart, SCRIPT FLUSH): the script is sent again', async () => {
    const ws = await createWorkspace(app, 'Scripts flushed');
    await sql.setWorkspaceSettings(ws.workspaceId, { tracking: { rateLimitPerSecond: 10 } });
    clock.advance(5_000);
    await send(ws, batchOf(10)).expect(200);
    // Clients that run scripts by SHA-1 (BullMQ's, ours) send them again on NOSCRIPT.
    await app.personae.app.get(RedisService).client.script('FLUSH');
    // Without the retry by text, the limiter would fail open and let this through.
    await send(ws, batchOf(10)).expect(429);
    clock.advance(1_000);
    await send(ws, batchOf(10)).expect(200);
  });
});
