import { MetricsService } from '../../src/ops/metrics.service';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { waitFor } from '../support/wait-for';
import { basicAuth, SEEN_NOW, TestSql } from './tracking-support';

interface Entry {
  id: string;
  sourceId: string | null;
  kind: string;
  reason: string;
  type: string | null;
  messageId: string | null;
  message: Record<string, unknown>;
  errors: { field: string; reason: string }[];
  warnings: { field: string; reason: string }[];
  receivedAt: string;
}

describe('partial batches and the quarantine', () => {
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

  const post = (path: string, body: unknown, key = ws.writeKey) =>
    app
      .http()
      .post(path)
      .set('authorization', basicAuth(key))
      .send(body as object);
  const api = (method: 'get' | 'post' | 'delete' | 'patch', path: string, token = ws.apiToken) =>
    app.http()[method](path).set('authorization', `Bearer ${token}`);
  const eventCount = (messageId: string, workspaceId = ws.workspaceId) =>
    sql.count('SELECT count(*) FROM events WHERE workspace_id = $1 AND message_id = $2', [workspaceId, messageId]);
  const entries = async (query = ''): Promise<Entry[]> =>
    (await api('get', `/api/quarantine${query}`).expect(200)).body.items as Entry[];
  const entryFor = async (messageId: string): Promise<Entry | undefined> =>
    (await entries()).find((entry) => entry.messageId === messageId);
  const quarantinedMetric = async (kind: string, reason: string): Promise<number> => {
    const metric = await app.personae.app.get(MetricsService).quarantinedMessages.get();
    return metric.values.find((v) => v.labels.kind === kind && v.labels.reason === reason)?.value ?? 0;
  };

  it("stores every message of Segment's own batch example (an unpadded month is a valid timestamp)", async () => {
    // https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/#batch
    const response = await post('/v1/batch', {
      batch: [
        {
          type: 'identify',
          userId: '019mr8mf4r',
          traits: { email: 'jake@yahoo.com', name: 'Jake Peterson', age: 26 },
          timestamp: '2012-12-02T00:30:08.276Z',
          messageId: 'seg-batch-1',
        },
        {
          type: 'track',
          userId: '019mr8mf4r',
          event: 'Song Played',
          properties: { name: 'Fallin for You', artist: 'Dierks Bentley' },
          timestamp: '2012-12-02T00:30:12.984Z',
          messageId: 'seg-batch-2',
        },
        {
          type: 'identify',
          userId: '971mj8mk7p',
          traits: { email: 'cindy@gmail.com', name: 'Cindy Gonzalez', age: 23 },
          timestamp: '2012-12-02T00:30:14.122Z',
          messageId: 'seg-batch-3',
        },
        {
          type: 'track',
          userId: '971mj8mk7p',
          event: 'Song Played',
          properties: { name: 'Get Lucky', artist: 'Daft Punk' },
          timestamp: '2015-2-02T00:30:08.276Z',
          messageId: 'seg-batch-4',
        },
      ],
      context: { device: { type: 'phone', name: 'Apple iPhone 6' } },
    }).expect(200);
    expect(response.body).toEqual({ success: true });
    for (const id of ['seg-batch-1', 'seg-batch-2', 'seg-batch-3', 'seg-batch-4']) expect(await eventCount(id)).toBe(1);
    const [row] = await sql.rows<{ timestamp: Date }>('SELECT timestamp FROM events WHERE message_id = $1', [
      'seg-batch-4',
    ]);
    expect(row?.timestamp.toISOString()).toBe('2015-02-02T00:30:08.276Z');
  });

  it('stores the valid messages, quarantines the invalid one with its reasons, and counts it', async () => {
    const before = await quarantinedMetric('rejected', 'invalid');
    const response = await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'q-user', event: 'Fine', messageId: 'q-ok-1' },
        { type: 'track', userId: 'q-user', timestamp: 'last tuesday', messageId: 'q-bad-1' },
        { type: 'identify', userId: 'q-user', traits: { plan: 'pro' }, messageId: 'q-ok-2' },
      ],
      context: { app: { name: 'shop' } },
    }).expect(200);
    expect(response.body).toEqual({
      success: true,
      rejected: [
        {
          index: 1,
          errors: [
            { field: 'batch[1].event', reason: 'is required' },
            { field: 'batch[1].timestamp', reason: 'must be an ISO-8601 date-time' },
          ],
        },
      ],
    });
    expect(await eventCount('q-ok-1')).toBe(1);
    expect(await eventCount('q-ok-2')).toBe(1);
    expect(await eventCount('q-bad-1')).toBe(0);
    const entry = await entryFor('q-bad-1');
    expect(entry).toMatchObject({
      sourceId: ws.sourceId,
      kind: 'rejected',
      reason: 'invalid',
      type: null,
      message: { type: 'track', userId: 'q-user', timestamp: 'last tuesday', messageId: 'q-bad-1' },
      errors: response.body.rejected[0].errors,
      warnings: [],
    });
    expect(Date.parse(entry?.receivedAt ?? '')).not.toBeNaN();
    expect(await quarantinedMetric('rejected', 'invalid')).toBe(before + 1);
  });

  it('quarantines a retried request once', async () => {
    const body = { batch: [{ type: 'track', userId: 'q-retry', messageId: 'q-retry-1' }, { type: 'alias' }] };
    await post('/v1/batch', body).expect(400);
    await post('/v1/batch', body).expect(400);
    const rows = await sql.count(
      "SELECT count(*) FROM quarantine WHERE workspace_id = $1 AND (message_id = 'q-retry-1' OR message->>'type' = 'alias')",
      [ws.workspaceId],
    );
    expect(rows).toBe(2);
  });

  it('answers 400 when every message is invalid, and quarantines them all', async () => {
    const response = await post('/v1/track', { userId: 'q-single', messageId: 'q-single-1' }).expect(400);
    expect(response.body.errors).toEqual([{ field: 'event', reason: 'is required' }]);
    expect(await entryFor('q-single-1')).toMatchObject({ kind: 'rejected', type: 'track' });
  });

  it('replays a rejected message once corrected, storing it and removing the entry', async () => {
    await post('/v1/batch', {
      batch: [{ type: 'track', userId: 'q-replay', event: 'Paid', messageId: 'q-replay-1', timestamp: 'soon' }],
      sentAt: '2024-05-01T12:00:00Z',
    }).expect(400);
    const entry = await entryFor('q-replay-1');
    if (!entry) throw new Error('not quarantined');

    const still = await api('post', `/api/quarantine/${entry.id}/replay`).send({}).expect(400);
    expect(still.body.errors).toEqual([{ field: 'timestamp', reason: 'must be an ISO-8601 date-time' }]);
    expect(await eventCount('q-replay-1')).toBe(0);

    const corrected = { ...entry.message, timestamp: '2024-05-01 11:59' };
    const replayed = await api('post', `/api/quarantine/${entry.id}/replay`).send({ message: corrected }).expect(200);
    expect(replayed.body).toEqual({ status: 'stored', messageId: 'q-replay-1', warnings: [] });
    const [event] = await sql.rows<{ timestamp: Date; sent_at: Date; source_id: string }>(
      'SELECT timestamp, sent_at, source_id FROM events WHERE workspace_id = $1 AND message_id = $2',
      [ws.workspaceId, 'q-replay-1'],
    );
    expect(event?.timestamp.toISOString()).toBe('2024-05-01T11:59:00.000Z');
    expect(event?.sent_at.toISOString()).toBe('2024-05-01T12:00:00.000Z');
    expect(event?.source_id).toBe(ws.sourceId);
    expect(await entryFor('q-replay-1')).toBeUndefined();
    await api('post', `/api/quarantine/${entry.id}/replay`).send({}).expect(404);
  });

  it('replays a message that was only refused by a strict source as it was', async () => {
    const source = (await api('post', '/api/sources').send({ name: 'Strict app', validation: 'strict' }).expect(201))
      .body as { id: string; writeKey: string; validation: string };
    expect(source.validation).toBe('strict');
    const response = await post(
      '/v1/batch',
      {
        batch: [
          { type: 'track', userId: 'q-strict', event: 'Good', messageId: 'q-strict-good' },
          { type: 'track', userId: 'q-strict', messageId: 'q-strict-bad' },
        ],
      },
      source.writeKey,
    ).expect(400);
    expect(response.body.errors).toEqual([{ field: 'batch[1].event', reason: 'is required' }]);
    expect(await eventCount('q-strict-good')).toBe(0);
    const good = await entryFor('q-strict-good');
    expect(good).toMatchObject({ kind: 'rejected', reason: 'strict', sourceId: source.id });
    expect((await entries(`?sourceId=${source.id}`)).map((e) => e.messageId).sort()).toEqual([
      'q-strict-bad',
      'q-strict-good',
    ]);
    await api('post', `/api/quarantine/${good?.id}/replay`).send({}).expect(200);
    expect(await eventCount('q-strict-good')).toBe(1);

    // Back to lenient: the valid message is stored and the invalid one quarantined.
    await api('patch', `/api/sources/${source.id}`).send({ validation: 'lenient' }).expect(200);
    await api('patch', `/api/sources/${source.id}`).send({ validation: 'loose' }).expect(400);
    const lenient = {
      batch: [
        { type: 'track', userId: 'q-strict', event: 'Good', messageId: 'q-lenient-good' },
        { type: 'track', userId: 'q-strict', messageId: 'q-lenient-bad' },
      ],
    };
    // The write key's settings are cached for a few seconds.
    await waitFor(async () => (await post('/v1/batch', lenient, source.writeKey)).status === 200, {
      intervalMs: 250,
      what: 'the source to validate leniently',
    });
    expect(await eventCount('q-lenient-good')).toBe(1);
  });

  it('stores a message with NUL and unpaired surrogates replaced, and records a warning', async () => {
    const before = await quarantinedMetric('warning', 'replaced_characters');
    const response = await post('/v1/track', {
      userId: 'q-nul',
      event: 'Bad\u0000Name',
      messageId: 'q-nul-1',
      properties: { 'k\u0000': 'v\uD800', list: ['\uDC00ok'] },
    }).expect(200);
    expect(response.body.warnings).toEqual([
      {
        index: 0,
        warnings: expect.arrayContaining([
          { field: 'event', reason: expect.stringMatching(/replaced by U\+FFFD/) },
          { field: 'properties.k\uFFFD', reason: expect.stringMatching(/replaced/) },
          { field: 'properties.list[0]', reason: expect.stringMatching(/replaced/) },
        ]),
      },
    ]);
    const [event] = await sql.rows<{ name: string; properties: unknown }>(
      'SELECT name, properties FROM events WHERE workspace_id = $1 AND message_id = $2',
      [ws.workspaceId, 'q-nul-1'],
    );
    expect(event).toEqual({ name: 'Bad\uFFFDName', properties: { 'k\uFFFD': 'v\uFFFD', list: ['\uFFFDok'] } });
    expect(await entryFor('q-nul-1')).toMatchObject({ kind: 'warning', reason: 'replaced_characters' });
    expect(await quarantinedMetric('warning', 'replaced_characters')).toBe(before + 1);
  });

  it('keeps a warning only with a new event, also in a request that repeats a stored messageId', async () => {
    await post('/v1/track', { userId: 'q-repeat', event: 'First', messageId: 'q-repeat-1' }).expect(200);
    // A retry of that call, now with a character to replace, in a batch with a new message that has one too.
    await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'q-repeat', event: 'Retried\u0000', messageId: 'q-repeat-1' },
        { type: 'track', userId: 'q-repeat', event: 'New\u0000', messageId: 'q-repeat-2' },
      ],
    }).expect(200);
    const stored = await sql.rows<{ message_id: string; name: string }>(
      "SELECT message_id, name FROM events WHERE workspace_id = $1 AND message_id LIKE 'q-repeat-%' ORDER BY message_id",
      [ws.workspaceId],
    );
    expect(stored).toEqual([
      { message_id: 'q-repeat-1', name: 'First' },
      { message_id: 'q-repeat-2', name: 'New\uFFFD' },
    ]);
    expect(await entryFor('q-repeat-1')).toBeUndefined();
    expect(await entryFor('q-repeat-2')).toMatchObject({ kind: 'warning', reason: 'replaced_characters' });
  });

  it('does not let a future timestamp pin a profile: it is stored at receivedAt, with a warning', async () => {
    await post('/v1/identify', {
      userId: 'q-future',
      traits: { plan: 'enterprise' },
      timestamp: '9999-12-31T00:00:00Z',
      messageId: 'q-future-1',
    }).expect(200);
    await post('/v1/identify', { userId: 'q-future', traits: { plan: 'free' }, messageId: 'q-future-2' }).expect(200);
    const answered = new Date();
    const [profile] = await sql.rows<{ traits: { plan: string }; last_seen_at: Date }>(
      `SELECT p.traits, ${SEEN_NOW} FROM profiles p JOIN identities i ON i.profile_id = p.id
       WHERE i.workspace_id = $1 AND i.type = 'user_id' AND i.value = 'q-future'`,
      [ws.workspaceId],
    );
    expect(profile?.traits.plan).toBe('free');
    // The year-9999 timestamp was replaced by the time it was received: last seen is not in the future.
    expect(profile?.last_seen_at.getTime()).toBeLessThanOrEqual(answered.getTime());
    expect(await entryFor('q-future-1')).toMatchObject({
      kind: 'warning',
      reason: 'future_timestamp',
      warnings: [{ field: 'timestamp', reason: expect.stringMatching(/more than 24 hours/) }],
    });
    // Skew-corrected: originalTimestamp a year ahead of sentAt is not in the future.
    await post('/v1/track', {
      userId: 'q-future',
      event: 'Skewed',
      originalTimestamp: '2099-01-01T00:00:00Z',
      sentAt: '2099-01-01T00:00:05Z',
      messageId: 'q-skewed',
    }).expect(200);
    expect(await entryFor('q-skewed')).toBeUndefined();
  });

  it('lists newest first with an opaque cursor, filters, and deletes', async () => {
    const other = await createWorkspace(app, 'Quarantine neighbour');
    const batch = Array.from({ length: 7 }, (_, i) => ({ type: 'track', userId: 'q-page', messageId: `q-page-${i}` }));
    await post('/v1/batch', { batch }).expect(400);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=3&kind=rejected${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await api('get', `/api/quarantine${query}`).expect(200)).body as {
        items: Entry[];
        nextCursor: string | null;
      };
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor);
    const all = await sql.rows<{ id: string }>(
      "SELECT id FROM quarantine WHERE workspace_id = $1 AND kind = 'rejected' ORDER BY received_at DESC, id DESC",
      [ws.workspaceId],
    );
    expect(seen).toEqual(all.map((row) => row.id));

    const target = await entryFor('q-page-3');
    expect((await api('get', '/api/quarantine', other.apiToken).expect(200)).body.items).toEqual([]);
    await api('delete', `/api/quarantine/${target?.id}`, other.apiToken).expect(404);
    await api('get', `/api/quarantine/${target?.id}`).expect(200);
    await api('delete', `/api/quarantine/${target?.id}`).expect(204);
    await api('get', `/api/quarantine/${target?.id}`).expect(404);
    await api('get', '/api/quarantine?cursor=bm90LWEtY3Vyc29y').expect(400);
    await api('get', '/api/quarantine?kind=maybe').expect(400);
    await app.http().get('/api/quarantine').expect(401);
  });
});
