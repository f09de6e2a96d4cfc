import { gzipSync } from 'node:zlib';

import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { basicAuth, TestSql } from './tracking-support';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** Cursors a client could forge: each must answer 400, never 500. */
const TAMPERED_CURSORS = [
  'not-a-cursor',
  '%%%',
  b64('2024-01-01T00:00:00.000Z|9999999999999999999'),
  b64('2024-01-01T00:00:00.000Z|-1'),
  b64('-271821-04-20T00:00:00.000Z|1'),
  b64('+275760-09-13T00:00:00.000Z|1'),
  b64('2024-01-01T00:00:00.000Z|------------------------------------'),
  b64('2024-01-01T00:00:00.000Z|zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz'),
  b64('2024-01-01T00:00:00.000Z|00000000-0000-0000-0000-000000000000|x'),
  b64('\u0000|\u0000'),
  b64('ffffffff-ffff-ffff-ffff-fffffffffffff'),
  b64('2024-01-01T00:00:00.000Z'),
  'x'.repeat(201),
];

describe('no input gives a 5xx', () => {
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
  const api = (method: 'get' | 'post' | 'patch', path: string) =>
    app.http()[method](path).set('authorization', `Bearer ${ws.apiToken}`);

  describe('tracking messages with NUL or unpaired surrogates are stored, the characters replaced', () => {
    const bad = ['a\u0000b', '\uD800', 'x\uDFFFy', '\uDBFF'];
    const placements: [string, (text: string) => Record<string, unknown>][] = [
      ['a property value', (t) => ({ type: 'track', event: 'E', properties: { p: t } })],
      ['a property key', (t) => ({ type: 'track', event: 'E', properties: { [t]: 1 } })],
      ['a nested property', (t) => ({ type: 'track', event: 'E', properties: { a: [{ b: t }] } })],
      ['an event name', (t) => ({ type: 'track', event: t })],
      ['a trait', (t) => ({ type: 'identify', traits: { name: t } })],
      ['a trait key', (t) => ({ type: 'identify', traits: { [t]: 'v' } })],
      ['context', (t) => ({ type: 'page', name: 'P', context: { page: { title: t } } })],
      ['integrations', (t) => ({ type: 'track', event: 'E', integrations: { [t]: true } })],
      ['a group trait', (t) => ({ type: 'group', groupId: 'g', traits: { industry: t } })],
      ['a groupId', (t) => ({ type: 'group', groupId: `g${t}` })],
      ['a previousId', (t) => ({ type: 'alias', previousId: `p${t}` })],
      ['a page name and category', (t) => ({ type: 'page', name: t, category: t })],
      ['a screen name', (t) => ({ type: 'screen', name: t })],
      ['an email trait', (t) => ({ type: 'identify', traits: { email: `a${t}@example.com` } })],
    ];
    const cases: [string, string, Record<string, unknown>][] = placements.flatMap(([where, make]) =>
      bad.map((text): [string, string, Record<string, unknown>] => [where, JSON.stringify(text), make(text)]),
    );
    it.each(cases)('%s holding %s', async (_, __, message) => {
      const messageId = `nul-${Math.random().toString(36).slice(2)}`;
      const full = { ...message, userId: 'nul-user', messageId };
      const response = await post('/v1/batch', { batch: [full] });
      expect(response.status).toBe(200);
      expect(response.body.warnings?.[0]?.index).toBe(0);
      expect(await sql.count('SELECT count(*) FROM events WHERE message_id = $1', [messageId])).toBe(1);
      const single = { ...full, type: undefined, messageId: `${messageId}-single` };
      await post(`/v1/${String(message.type)}`, single).expect(200);
    });

    it('in a userId, an anonymousId, a messageId and the batch context', async () => {
      const response = await post('/v1/batch', {
        batch: [{ type: 'track', event: 'E', userId: 'u\u0000', anonymousId: '\uD800', messageId: 'm\u0000id' }],
        context: { campaign: { name: 'c\u0000' } },
      }).expect(200);
      const warnings = response.body.warnings[0].warnings as { field: string }[];
      expect(warnings.map((w) => w.field).sort()).toEqual([
        'batch[0].anonymousId',
        'batch[0].messageId',
        'batch[0].userId',
        'context.campaign.name',
      ]);
      const [event] = await sql.rows<{ context: { campaign: { name: string } } }>(
        'SELECT context FROM events WHERE message_id = $1',
        ['m\uFFFDid'],
      );
      expect(event?.context.campaign.name).toBe('c\uFFFD');
    });

    it('in a text/plain body', async () => {
      const body = '{"userId":"plain","event":"A\\u0000B","properties":{"s":"\\ud83d"},"messageId":"nul-plain"}';
      await post('/v1/track', body).set('content-type', 'text/plain').expect(200);
      expect(await sql.count('SELECT count(*) FROM events WHERE message_id = $1', ['nul-plain'])).toBe(1);
    });
  });

  /** JSON text nesting `depth` objects (JSON.stringify itself overflows the stack long before the server would). */
  const nested = (depth: number) => `${'{"d":'.repeat(depth)}"leaf"${'}'.repeat(depth)}`;
  const postText = (path: string, text: string) =>
    app
      .http()
      .post(path)
      .set('authorization', basicAuth(ws.writeKey))
      .set('content-type', 'application/json')
      .send(text);

  it('refuses a message nested deeper than the limit: 400 alone, quarantined beside valid ones', async () => {
    const deep = nested(50_000);
    const single = await postText('/v1/track', `{"userId":"deep","event":"Deep","properties":${deep}}`).expect(400);
    expect(single.body.errors).toEqual([{ field: 'body', reason: expect.stringMatching(/deeper than 64 levels/) }]);
    const batch = await postText(
      '/v1/batch',
      `{"batch":[{"type":"track","userId":"deep","event":"Shallow","messageId":"deep-ok"},` +
        `{"type":"track","userId":"deep","event":"Deep","messageId":"deep-bad","properties":${deep}}]}`,
    ).expect(200);
    expect(batch.body.rejected).toEqual([
      { index: 1, errors: [{ field: 'batch[1]', reason: expect.stringMatching(/deeper/) }] },
    ]);
    const [entry] = await sql.rows<{ message: unknown }>(
      "SELECT message FROM quarantine WHERE message_id = 'deep-bad'",
    );
    expect(JSON.stringify(entry?.message)).toContain('[nested too deep]');
    // Deep, but within the limit: stored.
    await postText('/v1/track', `{"userId":"deep","event":"Fine","properties":${nested(62)}}`).expect(200);
    await app.http().get('/health').expect(200);
  });

  it.each([
    ['gzip', 'not gzip at all'],
    ['gzip', gzipSync(Buffer.from('{"userId":"u","event":"E"}')).subarray(0, 12)],
    ['deflate', 'not deflate'],
    ['br', Buffer.from([0xff, 0xff, 0xff, 0xff])],
  ])('answers 400 for a body that is not valid %s', async (encoding, body) => {
    const response = await app
      .http()
      .post('/v1/track')
      .set('authorization', basicAuth(ws.writeKey))
      .set('content-type', 'application/json')
      .set('content-encoding', encoding)
      .send(Buffer.from(body));
    expect(response.status).toBe(400);
    await app.http().get('/health').expect(200);
  });

  it('answers 401 at once to an oversized write key, in the body or the header', async () => {
    const key = 'k'.repeat(400 * 1024);
    await app.http().post('/v1/track').send({ writeKey: key, userId: 'u', event: 'E' }).expect(401);
    await app
      .http()
      .post('/v1/track')
      .set('authorization', basicAuth('k'.repeat(4_000)))
      .send({ userId: 'u', event: 'E' })
      .expect(401);
    await app.http().post('/v1/track').send({ writeKey: 'wk_\u0000', userId: 'u', event: 'E' }).expect(401);
  });

  describe('tampered pagination cursors', () => {
    let profileId: string;
    let audienceId: string;
    let destinationId: string;

    beforeAll(async () => {
      await post('/v1/identify', { userId: 'cursor-user', traits: { plan: 'Pro' } }).expect(200);
      const [row] = await sql.rows<{ profile_id: string }>(
        "SELECT profile_id FROM identities WHERE workspace_id = $1 AND value = 'cursor-user'",
        [ws.workspaceId],
      );
      profileId = row?.profile_id ?? '';
      const audience = await api('post', '/api/audiences')
        .send({ key: 'cursor-pros', name: 'Pros', definition: 'trait plan = "Pro"', refreshIntervalSeconds: 600 })
        .expect(201);
      audienceId = audience.body.id;
      const destination = await api('post', '/api/destinations')
        .send({
          type: 'webhook',
          name: 'Hook',
          config: { url: 'https://hooks.example.com/personae', secret: 'a-secret-of-16-chars' },
        })
        .expect(201);
      destinationId = destination.body.id;
    });

    const endpoints = () => [
      `/api/profiles/${profileId}/events`,
      `/api/audiences/${audienceId}/members`,
      `/api/audiences/${audienceId}/transitions`,
      `/api/destinations/${destinationId}/deliveries`,
      '/api/quarantine',
    ];

    it('answers 400 for every forged cursor of every list endpoint', async () => {
      for (const endpoint of endpoints()) {
        await api('get', endpoint).expect(200);
        for (const cursor of TAMPERED_CURSORS) {
          const response = await api('get', `${endpoint}?cursor=${encodeURIComponent(cursor)}`);
          expect({ endpoint, cursor, status: response.status }).toEqual({ endpoint, cursor, status: 400 });
          expect(response.body.errors?.[0]?.field).toBe('cursor');
        }
      }
    });
  });

  describe('the management API refuses NUL and unpaired surrogates, naming the field', () => {
    it.each([
      ['post', '/api/sources', { name: 'a\u0000b' }, 'name'],
      ['post', '/api/sources', { name: '\uD800' }, 'name'],
      ['post', '/api/audiences', { key: 'k', name: 'N', definition: 'trait plan = "a\u0000"' }, 'definition'],
      ['post', '/api/audiences/preview', { definition: 'performed "\uDC00"' }, 'definition'],
      [
        'post',
        '/api/funnels/report',
        { steps: [{ event: 'A' }, { event: 'B\u0000' }], from: '2024-01-01', to: '2024-02-01' },
        'steps[1].event',
      ],
      [
        'post',
        '/api/destinations',
        { type: 'webhook', name: 'H', config: { url: 'https://x.example/\u0000' } },
        'config.url',
      ],
      ['post', '/api/workspaces', { 'na\u0000me': 'x' }, 'na\uFFFDme'],
    ] as const)('%s %s', async (method, path, body, field) => {
      const response = await api(method, path).send(body);
      expect(response.status).toBe(400);
      expect(response.body.errors).toEqual([{ field, reason: expect.any(String) }]);
    });

    it('in a query string or a path', async () => {
      const lookup = await api('get', '/api/profiles?identifier=email:a%00b@example.com').expect(400);
      expect(lookup.body.errors).toEqual([{ field: 'identifier', reason: expect.stringMatching(/NUL/) }]);
      const path = await api('get', '/api/audiences/a%00b').expect(400);
      expect(path.body.errors[0].field).toBe('id');
    });

    it('refuses a body nested deeper than the limit', async () => {
      const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      const response = await api('post', '/api/audiences/preview')
        .set('content-type', 'application/json')
        .send(`{"definition":${deep}}`)
        .expect(400);
      expect(response.body.errors).toEqual([{ field: 'body', reason: expect.stringMatching(/deeper than 64/) }]);
      await app.http().get('/health').expect(200);
    });
  });
});
