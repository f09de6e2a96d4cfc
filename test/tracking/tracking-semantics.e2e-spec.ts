import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { basicAuth, SEEN_NOW, TestSql } from './tracking-support';

interface StoredTimes {
  message_id: string;
  timestamp: Date;
  original_timestamp: Date | null;
  sent_at: Date | null;
  received_at: Date;
}

describe('tracking semantics: idempotency and timestamps', () => {
  let app: TestApp;
  let ws: WorkspaceCredentials;
  let sql: TestSql;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' });
    ws = await createWorkspace(app);
    sql = await TestSql.connect(app);
  });
  afterAll(async () => {
    await sql.close();
    await app.close();
  });

  const post = (path: string, body: unknown) =>
    app
      .http()
      .post(path)
      .set('authorization', basicAuth(ws.writeKey))
      .send(body as object);
  const stored = async (messageId: string): Promise<StoredTimes[]> =>
    sql.rows<StoredTimes>(
      'SELECT message_id, timestamp, original_timestamp, sent_at, received_at FROM events WHERE workspace_id = $1 AND message_id = $2',
      [ws.workspaceId, messageId],
    );

  describe('messageId', () => {
    it('stores a repeated messageId once and answers 200 every time', async () => {
      const message = { userId: 'dedupe-user', event: 'Order Completed', messageId: 'dedupe-1' };
      await post('/v1/track', message).expect(200);
      await post('/v1/track', message).expect(200);
      await post('/v1/batch', {
        batch: [
          { ...message, type: 'track' },
          { ...message, type: 'track' },
        ],
      }).expect(200);
      expect(await stored('dedupe-1')).toHaveLength(1);
    });

    it('does not let a repeated message change the profile', async () => {
      await post('/v1/identify', {
        userId: 'dedupe-traits',
        traits: { plan: 'free' },
        messageId: 'dt-1',
        timestamp: '2024-01-01T00:00:00Z',
      }).expect(200);
      await post('/v1/identify', {
        userId: 'dedupe-traits',
        traits: { plan: 'pro' },
        messageId: 'dt-2',
        timestamp: '2024-01-02T00:00:00Z',
      }).expect(200);
      // A retry of the first call (same messageId, even with different content) is ignored.
      await post('/v1/identify', {
        userId: 'dedupe-traits',
        traits: { plan: 'free' },
        messageId: 'dt-1',
        timestamp: '2024-01-03T00:00:00Z',
      }).expect(200);
      const [profile] = await sql.rows<{ traits: Record<string, unknown>; last_seen_at: Date }>(
        `SELECT p.traits, ${SEEN_NOW} FROM profiles p JOIN identities i ON i.profile_id = p.id
         WHERE i.workspace_id = $1 AND i.type = 'user_id' AND i.value = 'dedupe-traits'`,
        [ws.workspaceId],
      );
      expect(profile?.traits).toEqual({ plan: 'pro' });
      expect(profile?.last_seen_at.toISOString()).toBe('2024-01-02T00:00:00.000Z');
    });

    it('scopes messageIds to the workspace', async () => {
      const other = await createWorkspace(app, 'Other');
      const message = { userId: 'u', event: 'E', messageId: 'shared-id' };
      await post('/v1/track', message).expect(200);
      await app.http().post('/v1/track').set('authorization', basicAuth(other.writeKey)).send(message).expect(200);
      expect(await sql.count("SELECT count(*) FROM events WHERE message_id = 'shared-id'")).toBe(2);
    });

    it('generates a messageId when absent', async () => {
      await post('/v1/track', { userId: 'no-id-user', event: 'No Id' }).expect(200);
      await post('/v1/track', { userId: 'no-id-user', event: 'No Id' }).expect(200);
      const rows = await sql.rows<{ message_id: string }>(
        "SELECT message_id FROM events WHERE workspace_id = $1 AND name = 'No Id'",
        [ws.workspaceId],
      );
      expect(rows).toHaveLength(2);
      for (const row of rows) expect(row.message_id).toMatch(/^api-[0-9a-f-]{36}$/);
    });
  });

  describe('timestamps', () => {
    it('keeps a given timestamp as is', async () => {
      await post('/v1/track', {
        userId: 'time-user',
        event: 'E',
        messageId: 'ts-given',
        timestamp: '2015-02-23T22:28:55.111Z',
        sentAt: '2030-01-01T00:00:00.000Z',
      }).expect(200);
      const [row] = await stored('ts-given');
      expect(row?.timestamp.toISOString()).toBe('2015-02-23T22:28:55.111Z');
      expect(row?.sent_at?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    });

    it('corrects originalTimestamp for the device clock skew measured by sentAt', async () => {
      // The device clock runs 1 hour fast: it says it sent at 13:00 what it recorded at 12:59:50.
      const before = Date.now();
      await post('/v1/track', {
        userId: 'time-user',
        event: 'E',
        messageId: 'ts-skewed',
        originalTimestamp: '2030-06-01T12:59:50.000Z',
        sentAt: '2030-06-01T13:00:00.000Z',
      }).expect(200);
      const after = Date.now();
      const [row] = await stored('ts-skewed');
      if (!row) throw new Error('not stored');
      expect(row.original_timestamp?.toISOString()).toBe('2030-06-01T12:59:50.000Z');
      expect(row.timestamp.getTime()).toBe(row.received_at.getTime() - 10_000);
      expect(row.received_at.getTime()).toBeGreaterThanOrEqual(before - 1);
      expect(row.received_at.getTime()).toBeLessThanOrEqual(after + 1);
    });

    it('uses the batch sentAt for messages that have none', async () => {
      await post('/v1/batch', {
        sentAt: '2030-06-01T13:00:00.000Z',
        batch: [
          {
            type: 'track',
            userId: 'time-user',
            event: 'E',
            messageId: 'ts-batch',
            originalTimestamp: '2030-06-01T12:58:00.000Z',
          },
        ],
      }).expect(200);
      const [row] = await stored('ts-batch');
      expect(row && row.received_at.getTime() - row.timestamp.getTime()).toBe(120_000);
    });

    it('falls back to receivedAt when the message has no time at all', async () => {
      await post('/v1/track', { userId: 'time-user', event: 'E', messageId: 'ts-none' }).expect(200);
      const [row] = await stored('ts-none');
      expect(row?.timestamp.getTime()).toBe(row?.received_at.getTime());
    });
  });

  it('applies batch-level context and integrations under each message', async () => {
    await post('/v1/batch', {
      context: { library: { name: 'analytics-python', version: '2.2.0' }, ip: '198.51.100.7' },
      integrations: { All: true },
      batch: [
        { type: 'track', userId: 'ctx-user', event: 'E', messageId: 'ctx-1', context: { page: { path: '/a' } } },
        { type: 'track', userId: 'ctx-user', event: 'E', messageId: 'ctx-2', integrations: { All: false } },
      ],
    }).expect(200);
    const rows = await sql.rows<{ message_id: string; context: unknown; integrations: unknown }>(
      "SELECT message_id, context, integrations FROM events WHERE workspace_id = $1 AND message_id LIKE 'ctx-%' ORDER BY message_id",
      [ws.workspaceId],
    );
    expect(rows).toEqual([
      {
        message_id: 'ctx-1',
        context: { library: { name: 'analytics-python', version: '2.2.0' }, ip: '198.51.100.7', page: { path: '/a' } },
        integrations: { All: true },
      },
      {
        message_id: 'ctx-2',
        context: { library: { name: 'analytics-python', version: '2.2.0' }, ip: '198.51.100.7' },
        integrations: { All: false },
      },
    ]);
  });
});
