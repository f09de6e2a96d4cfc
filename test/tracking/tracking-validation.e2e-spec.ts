import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { basicAuth, TestSql } from './tracking-support';

describe('tracking API validation and limits', () => {
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
  const storedEvents = () => sql.count('SELECT count(*) FROM events WHERE workspace_id = $1', [ws.workspaceId]);

  it.each([
    [
      'track without userId or anonymousId',
      '/v1/track',
      { event: 'E' },
      'userId',
      'is required unless anonymousId is given',
    ],
    [
      'track with null ids (analytics.js style)',
      '/v1/track',
      { event: 'E', userId: null, anonymousId: null },
      'anonymousId',
      'is required unless userId is given',
    ],
    ['track without event', '/v1/track', { userId: 'u' }, 'event', 'is required'],
    ['track with an empty event', '/v1/track', { userId: 'u', event: '' }, 'event', 'must not be empty'],
    ['alias without previousId', '/v1/alias', { userId: 'u' }, 'previousId', 'is required'],
    ['group without groupId', '/v1/group', { userId: 'u' }, 'groupId', 'is required'],
    [
      'a non-ISO timestamp',
      '/v1/track',
      { userId: 'u', event: 'E', timestamp: 'yesterday' },
      'timestamp',
      'must be an ISO-8601 date-time',
    ],
    [
      'an impossible date',
      '/v1/track',
      { userId: 'u', event: 'E', timestamp: '2024-02-30T10:00:00Z' },
      'timestamp',
      'must be an ISO-8601 date-time',
    ],
    [
      'a bad originalTimestamp',
      '/v1/page',
      { userId: 'u', originalTimestamp: 12 },
      'originalTimestamp',
      'must be an ISO-8601 date-time',
    ],
    ['a bad sentAt', '/v1/identify', { userId: 'u', sentAt: '2024-13-01' }, 'sentAt', 'must be an ISO-8601 date-time'],
    [
      'a messageId over 100 characters',
      '/v1/track',
      { userId: 'u', event: 'E', messageId: 'm'.repeat(101) },
      'messageId',
      'must be at most 100 characters',
    ],
    ['a numeric userId', '/v1/identify', { userId: 42 }, 'userId', 'must be a string'],
    [
      'properties that are not an object',
      '/v1/track',
      { userId: 'u', event: 'E', properties: [1] },
      'properties',
      'must be an object',
    ],
    ['traits that are not an object', '/v1/identify', { userId: 'u', traits: 'vip' }, 'traits', 'must be an object'],
    ['context that is not an object', '/v1/screen', { userId: 'u', context: 'x' }, 'context', 'must be an object'],
  ])('answers 400 naming the field for %s', async (_, path, body, field, reason) => {
    const response = await post(path, body).expect(400);
    expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(response.body.errors).toContainEqual({ field, reason });
    expect(response.body.message).toContain(`${field}: ${reason}`);
  });

  it('stores the valid messages of a batch and names the index and field of each rejected one', async () => {
    const before = await storedEvents();
    const batch = [
      { type: 'identify', userId: 'u1', traits: { plan: 'pro' } },
      { type: 'track', userId: 'u1', event: 'Fine' },
      { type: 'page', anonymousId: 'a1' },
      { type: 'track', userId: 'u1' },
      { type: 'launch', userId: 'u1' },
      { type: 'alias', userId: 'u1' },
      'not a message',
    ];
    const response = await post('/v1/batch', { batch }).expect(200);
    expect(response.body).toEqual({
      success: true,
      rejected: [
        { index: 3, errors: [{ field: 'batch[3].event', reason: 'is required' }] },
        {
          index: 4,
          errors: [{ field: 'batch[4].type', reason: 'must be one of track, identify, page, screen, group, alias' }],
        },
        { index: 5, errors: [{ field: 'batch[5].previousId', reason: 'is required' }] },
        { index: 6, errors: [{ field: 'batch[6]', reason: 'must be an object' }] },
      ],
    });
    expect(await storedEvents()).toBe(before + 3);
  });

  it('answers 400 naming the fields when every message of a batch is invalid, storing no event', async () => {
    const before = await storedEvents();
    const response = await post('/v1/batch', {
      batch: [{ type: 'track', userId: 'u1' }, { type: 'launch' }],
    }).expect(400);
    expect(response.body.errors).toEqual([
      { field: 'batch[0].event', reason: 'is required' },
      { field: 'batch[1].type', reason: 'must be one of track, identify, page, screen, group, alias' },
    ]);
    expect(await storedEvents()).toBe(before);
  });

  it.each([
    ['no batch', {}, 'must be an array of messages'],
    ['an empty batch', { batch: [] }, 'must contain at least 1 message'],
    [
      'more than 2,500 messages',
      { batch: Array.from({ length: 2_501 }, () => ({ type: 'track', userId: 'u', event: 'E' })) },
      'must contain at most 2500 messages',
    ],
  ])('refuses a batch with %s', async (_, body, reason) => {
    const response = await post('/v1/batch', body).expect(400);
    expect(response.body.errors).toEqual([{ field: 'batch', reason }]);
  });

  it('accepts a batch of exactly 2,500 messages', async () => {
    const batch = Array.from({ length: 2_500 }, (_, i) => ({
      type: 'track',
      anonymousId: `bulk-${i % 50}`,
      event: 'Bulk',
    }));
    await post('/v1/batch', { batch }).expect(200);
    expect(
      await sql.count("SELECT count(*) FROM events WHERE workspace_id = $1 AND name = 'Bulk'", [ws.workspaceId]),
    ).toBe(2_500);
  });

  it('quarantines a message over 32 KB and stores the rest; 413 when every message is too large', async () => {
    const before = await storedEvents();
    const big = { type: 'track', userId: 'u', event: 'Big', properties: { text: 'x'.repeat(33 * 1024) } };
    const response = await post('/v1/batch', { batch: [{ type: 'track', userId: 'u', event: 'Small' }, big] }).expect(
      200,
    );
    expect(response.body.rejected).toEqual([
      { index: 1, errors: [{ field: 'batch[1]', reason: expect.stringMatching(/at most 32768 bytes/) }] },
    ]);
    expect(await storedEvents()).toBe(before + 1);

    const single = await post('/v1/track', {
      userId: 'u',
      event: 'Big',
      properties: { text: 'x'.repeat(33 * 1024) },
    }).expect(413);
    expect(single.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    expect(single.body.errors).toEqual([{ field: 'body', reason: expect.stringMatching(/at most 32768 bytes/) }]);
    expect(await storedEvents()).toBe(before + 1);
  });

  it('refuses a request over 500 KB with 413', async () => {
    const message = { type: 'track', userId: 'u', event: 'E', properties: { text: 'x'.repeat(30 * 1024) } };
    const response = await post('/v1/batch', { batch: Array.from({ length: 20 }, () => message) }).expect(413);
    expect(response.body).toMatchObject({ statusCode: 413, errors: [{ field: 'body', reason: expect.any(String) }] });
  });

  describe('rate limit', () => {
    it('answers 429 with Retry-After once a source passes its events per second', async () => {
      const limited = await createWorkspace(app, 'Rate limited');
      await sql.setWorkspaceSettings(limited.workspaceId, { tracking: { rateLimitPerSecond: 3 } });
      const batch = (n: number) => ({
        batch: Array.from({ length: n }, () => ({ type: 'track', userId: 'u', event: 'Limited' })),
      });
      // Windows are whole seconds; two requests in a row land in the same window almost always.
      let refused: Awaited<ReturnType<typeof post>> | undefined;
      for (let attempt = 0; attempt < 5 && !refused; attempt += 1) {
        const first = await post('/v1/batch', batch(3), limited.writeKey);
        const second = await post('/v1/batch', batch(2), limited.writeKey);
        refused = [first, second].find((response) => response.status === 429);
      }
      expect(refused?.headers['retry-after']).toBe('1');
      expect(refused?.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    });
  });
});
