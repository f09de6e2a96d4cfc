import { gzipSync } from 'node:zlib';

import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { basicAuth, TestSql } from './tracking-support';

interface EventRow {
  type: string;
  name: string | null;
  message_id: string;
  user_id: string | null;
  anonymous_id: string | null;
  properties: Record<string, unknown>;
  traits: Record<string, unknown> | null;
  context: Record<string, unknown>;
  integrations: Record<string, unknown> | null;
  timestamp: Date;
  original_timestamp: Date | null;
  sent_at: Date | null;
  received_at: Date;
}

/** Sends a Buffer body as is (superagent would otherwise JSON-encode it). */
const raw = (body: unknown): string => body as string;

/** Payloads from Segment's HTTP Tracking API reference, one per call. */
const specPayloads = {
  identify: {
    userId: '019mr8mf4r',
    traits: { email: 'pgibbons@example.com', name: 'Peter Gibbons', industry: 'Technology' },
    context: { ip: '24.5.68.47' },
    timestamp: '2012-12-02T00:30:08.276Z',
  },
  track: {
    userId: '019mr8mf4r',
    event: 'Item Purchased',
    properties: { name: 'Leap to Conclusions Mat', revenue: 14.99 },
    context: { ip: '24.5.68.47' },
    timestamp: '2012-12-02T00:30:12.984Z',
  },
  page: {
    userId: '019mr8mf4r',
    name: 'Tracking HTTP API',
    timestamp: '2012-12-02T00:31:29.738Z',
  },
  screen: {
    userId: '019mr8mf4r',
    name: 'Tracking HTTP API',
    timestamp: '2012-12-02T00:31:29.738Z',
  },
  group: {
    userId: '019mr8mf4r',
    groupId: '8e9df332ac',
    traits: { name: 'Initech', industry: 'Technology', employees: 329, plan: 'enterprise', 'total billed': 830 },
  },
  alias: {
    previousId: 'anonymous_user_123',
    userId: '019mr8mf4r',
  },
} as const;

describe('tracking API (Segment-compatible)', () => {
  let app: TestApp;
  let ws: WorkspaceCredentials;
  let sql: TestSql;
  let seq = 0;
  const unique = (prefix: string): string => `${prefix}-${Date.now()}-${(seq += 1)}`;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' });
    ws = await createWorkspace(app);
    sql = await TestSql.connect(app);
  });
  afterAll(async () => {
    await sql.close();
    await app.close();
  });

  const post = (path: string, body: unknown, writeKey: string | null = ws.writeKey) => {
    const call = app.http().post(path);
    if (writeKey) call.set('authorization', basicAuth(writeKey));
    return call.send(body as object);
  };
  const eventByMessageId = async (messageId: string): Promise<EventRow | undefined> =>
    (
      await sql.rows<EventRow>('SELECT * FROM events WHERE workspace_id = $1 AND message_id = $2', [
        ws.workspaceId,
        messageId,
      ])
    )[0];

  describe.each([
    ['track', 't', 'track', 'Item Purchased'],
    ['identify', 'i', 'identify', null],
    ['page', 'p', 'page', 'Tracking HTTP API'],
    ['screen', 's', 'screen', 'Tracking HTTP API'],
    ['group', 'g', 'group', null],
    ['alias', 'a', 'alias', null],
  ] as const)('/v1/%s and /v1/%s', (long, short, type, name) => {
    it.each([long, short])(`stores the spec payload sent to /v1/%s`, async (path) => {
      const messageId = unique(path);
      const response = await post(`/v1/${path}`, { ...specPayloads[type], messageId }).expect(200);
      expect(response.body).toEqual({ success: true });
      const event = await eventByMessageId(messageId);
      expect(event).toMatchObject({ type, name, user_id: '019mr8mf4r' });
    });
  });

  it('keeps properties, traits, context and integrations as sent', async () => {
    const messageId = unique('track');
    await post('/v1/track', {
      ...specPayloads.track,
      messageId,
      context: {
        ip: '24.5.68.47',
        userAgent: 'Mozilla/5.0 (iPhone)',
        page: { path: '/pricing', referrer: 'https://google.com' },
        campaign: { source: 'google', medium: 'cpc', name: 'spring' },
        library: { name: 'analytics.js', version: '2.11.1' },
      },
      integrations: { All: false, Mixpanel: true },
    }).expect(200);
    const event = await eventByMessageId(messageId);
    expect(event?.properties).toEqual({ name: 'Leap to Conclusions Mat', revenue: 14.99 });
    expect(event?.context).toEqual({
      ip: '24.5.68.47',
      userAgent: 'Mozilla/5.0 (iPhone)',
      page: { path: '/pricing', referrer: 'https://google.com' },
      campaign: { source: 'google', medium: 'cpc', name: 'spring' },
      library: { name: 'analytics.js', version: '2.11.1' },
    });
    expect(event?.integrations).toEqual({ All: false, Mixpanel: true });
    expect(event?.timestamp.toISOString()).toBe('2012-12-02T00:30:12.984Z');

    const groupId = unique('group');
    await post('/v1/group', { ...specPayloads.group, messageId: groupId }).expect(200);
    expect((await eventByMessageId(groupId))?.traits).toEqual(specPayloads.group.traits);
    expect((await eventByMessageId(groupId))?.properties).toEqual({ groupId: '8e9df332ac' });
  });

  it('fills context.ip from the request only when absent', async () => {
    const withoutIp = unique('ip');
    await post('/v1/track', { userId: 'ip-user', event: 'E', messageId: withoutIp }).expect(200);
    expect((await eventByMessageId(withoutIp))?.context).toEqual({ ip: expect.stringMatching(/127\.0\.0\.1/) });
    // Without TRUST_PROXY, X-Forwarded-For is anyone's to write: it is not believed.
    const forwarded = unique('ip');
    await post('/v1/track', { userId: 'ip-user', event: 'E', messageId: forwarded })
      .set('x-forwarded-for', '203.0.113.9')
      .expect(200);
    expect((await eventByMessageId(forwarded))?.context.ip).toMatch(/127\.0\.0\.1/);
  });

  describe('authentication', () => {
    it('accepts the write key as HTTP Basic user name', async () => {
      await post('/v1/track', { userId: 'auth-user', event: 'E' }).expect(200);
    });

    it('accepts the write key in the body', async () => {
      await post('/v1/track', { userId: 'auth-user', event: 'E', writeKey: ws.writeKey }, null).expect(200);
      await post(
        '/v1/batch',
        { writeKey: ws.writeKey, batch: [{ type: 'track', userId: 'auth-user', event: 'E' }] },
        null,
      ).expect(200);
    });

    it.each([
      ['no key at all', null, {}],
      ['an unknown Basic key', 'wk_unknown', {}],
      ['an unknown body key', null, { writeKey: 'wk_unknown' }],
    ])('answers 401 with %s and stores nothing', async (_, key, extra) => {
      const messageId = unique('unauth');
      const response = await post('/v1/track', { userId: 'auth-user', event: 'E', messageId, ...extra }, key).expect(
        401,
      );
      expect(response.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', message: expect.any(String) });
      expect(await eventByMessageId(messageId)).toBeUndefined();
    });
  });

  describe('bodies', () => {
    it('accepts JSON sent as text/plain, as browser libraries do', async () => {
      const messageId = unique('text');
      await app
        .http()
        .post('/v1/t')
        .set('content-type', 'text/plain')
        .send(JSON.stringify({ userId: 'text-user', event: 'E', messageId, writeKey: ws.writeKey }))
        .expect(200);
      expect(await eventByMessageId(messageId)).toBeDefined();
    });

    it('accepts gzip request bodies', async () => {
      const messageId = unique('gzip');
      const body = gzipSync(
        JSON.stringify({ batch: [{ type: 'track', userId: 'gzip-user', event: 'Zipped', messageId }] }),
      );
      await app
        .http()
        .post('/v1/batch')
        .set('authorization', basicAuth(ws.writeKey))
        .set('content-type', 'application/json')
        .set('content-encoding', 'gzip')
        .serialize(raw)
        .send(body)
        .expect(200);
      expect((await eventByMessageId(messageId))?.name).toBe('Zipped');
    });

    it('applies the size limit to the decompressed body (gzip bomb)', async () => {
      // ~2 MB of JSON that compresses to a few KB.
      const bomb = gzipSync(
        JSON.stringify({
          batch: [{ type: 'track', userId: 'bomb', event: 'E', properties: { pad: 'a'.repeat(2_000_000) } }],
        }),
      );
      expect(bomb.length).toBeLessThan(20_000);
      const response = await app
        .http()
        .post('/v1/batch')
        .set('authorization', basicAuth(ws.writeKey))
        .set('content-type', 'application/json')
        .set('content-encoding', 'gzip')
        .serialize(raw)
        .send(bomb)
        .expect(413);
      expect(response.body.statusCode).toBe(413);
    });

    it('refuses corrupt gzip with 400 and unknown encodings with 415', async () => {
      const call = (encoding: string) =>
        app
          .http()
          .post('/v1/track')
          .set('authorization', basicAuth(ws.writeKey))
          .set('content-type', 'application/json')
          .set('content-encoding', encoding)
          .serialize(raw)
          .send(Buffer.from('definitely not gzip'));
      await call('gzip').expect(400);
      await call('compress').expect(415);
    });

    it('refuses a body that is not JSON', async () => {
      const response = await app
        .http()
        .post('/v1/track')
        .set('authorization', basicAuth(ws.writeKey))
        .set('content-type', 'text/plain')
        .send('{"userId": ')
        .expect(400);
      expect(response.body.errors).toEqual([{ field: 'body', reason: 'is not valid JSON' }]);
    });

    it('answers CORS preflights for browser libraries', async () => {
      const response = await app
        .http()
        .options('/v1/batch')
        .set('origin', 'https://shop.example.com')
        .set('access-control-request-method', 'POST')
        .expect(204);
      expect(response.headers['access-control-allow-origin']).toBe('https://shop.example.com');
      expect(response.headers['access-control-allow-headers']).toMatch(/Content-Type/);
      const post = await app
        .http()
        .post('/v1/t')
        .set('origin', 'https://shop.example.com')
        .send({ writeKey: ws.writeKey, userId: 'cors', event: 'E' });
      expect(post.headers['access-control-allow-origin']).toBe('https://shop.example.com');
    });
  });
});
