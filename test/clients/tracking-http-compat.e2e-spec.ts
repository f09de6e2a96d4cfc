import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';

import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { basicAuth, profileOf, TestSql } from '../tracking/tracking-support';
import { listenOnLoopback } from './client-support';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with exactly these headers (no Content-Type unless given), as odd clients send them. */
function rawRequest(url: string, method: string, headers: Record<string, string>, body?: Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('tracking API compatibility with real clients', () => {
  let app: TestApp | undefined;
  let sql: TestSql | undefined;
  let ws: WorkspaceCredentials;
  let apiUrl: string;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' });
    sql = await TestSql.connect(app);
    ws = await createWorkspace(app);
    apiUrl = await listenOnLoopback(app);
  });
  afterAll(async () => {
    try {
      await sql?.close();
    } finally {
      await app?.close();
    }
  });

  let sequence = 0;
  const unique = (prefix: string) => `${prefix}-${++sequence}-${Date.now()}`;

  async function stored(messageId: string) {
    const [row] = await sql!.rows<{
      type: string;
      name: string | null;
      user_id: string | null;
      anonymous_id: string | null;
      traits: Record<string, unknown> | null;
      profile_id: string;
    }>(
      'SELECT type, name, user_id, anonymous_id, traits, profile_id FROM events WHERE workspace_id = $1 AND message_id = $2',
      [ws.workspaceId, messageId],
    );
    return row;
  }

  async function traitsOf(profileId: string | undefined): Promise<unknown> {
    const [row] = await sql!.rows<{ traits: unknown }>('SELECT traits FROM profiles WHERE id = $1', [profileId]);
    return row?.traits;
  }

  describe('CORS preflight', () => {
    const preflight = (requestHeaders: string) =>
      app!
        .http()
        .options('/v1/page')
        .set('origin', 'https://shop.example.com')
        .set('access-control-request-method', 'POST')
        .set('access-control-request-headers', requestHeaders)
        .expect(204);
    const allowed = (response: { headers: Record<string, string> }) =>
      (response.headers['access-control-allow-headers'] ?? '').split(',').map((h) => h.trim().toLowerCase());

    it("allows the headers RudderStack's browser SDK asks for", async () => {
      const response = await preflight(
        'anonymousid,authorization,content-type,sentat,rsa-recovered,rsa-retry-attempt,rsa-since-last-attempt',
      );
      expect(allowed(response)).toEqual(
        expect.arrayContaining([
          'anonymousid',
          'authorization',
          'content-type',
          'content-encoding',
          'sentat',
          'rsa-recovered',
          'rsa-retry-attempt',
          'rsa-since-last-attempt',
        ]),
      );
      expect(response.headers['access-control-allow-origin']).toBe('https://shop.example.com');
      expect(response.headers['access-control-allow-credentials']).toBeUndefined();
      expect(response.headers['vary']).toMatch(/Access-Control-Request-Headers/);
    });

    it('never allows the headers a proxy in front of Personae sets, nor malformed names', async () => {
      const response = await preflight('x-forwarded-for, X-Real-IP, forwarded, bad header, x-custom-header');
      expect(allowed(response).sort()).toEqual([
        'authorization',
        'content-encoding',
        'content-type',
        'x-custom-header',
      ]);
    });
  });

  describe('bodies are JSON whatever their Content-Type', () => {
    const labels: (string | undefined)[] = [
      'application/x-www-form-urlencoded',
      'application/octet-stream',
      undefined,
      'multipart/form-data; boundary=x',
      'application/json; charset=utf-8',
      'text/plain;charset=UTF-8',
      'not a media type',
    ];
    const cases = labels.flatMap((label) => [
      { label, name: label ?? '(no Content-Type)', gzip: true },
      { label, name: label ?? '(no Content-Type)', gzip: false },
    ]);

    it.each(cases)('stores a batch labelled $name (gzip: $gzip)', async ({ label, gzip }) => {
      const messageId = unique('label');
      const json = Buffer.from(
        JSON.stringify({ batch: [{ type: 'track', userId: 'label-user', event: 'Labelled', messageId }] }),
      );
      const headers: Record<string, string> = { authorization: basicAuth(ws.writeKey) };
      if (label !== undefined) headers['content-type'] = label;
      if (gzip) headers['content-encoding'] = 'gzip';
      const response = await rawRequest(`${apiUrl}/v1/batch`, 'POST', headers, gzip ? gzipSync(json) : json);
      expect({ status: response.status, body: JSON.parse(response.body) }).toEqual({
        status: 200,
        body: { success: true },
      });
      expect((await stored(messageId))?.name).toBe('Labelled');
    });

    it('applies the size limit to the decompressed body whatever the label (gzip bomb as a form)', async () => {
      const bomb = gzipSync(
        JSON.stringify({
          batch: [{ type: 'track', userId: 'bomb', event: 'E', properties: { pad: 'a'.repeat(2e6) } }],
        }),
      );
      const response = await rawRequest(
        `${apiUrl}/v1/batch`,
        'POST',
        {
          authorization: basicAuth(ws.writeKey),
          'content-type': 'application/x-www-form-urlencoded',
          'content-encoding': 'gzip',
        },
        bomb,
      );
      expect(response.status).toBe(413);
      expect(await sql!.count("SELECT count(*) FROM events WHERE user_id = 'bomb'")).toBe(0);
    });

    it('answers 400 naming the body when it is not JSON, whatever the label', async () => {
      for (const label of ['application/json', 'application/x-www-form-urlencoded']) {
        const response = await rawRequest(
          `${apiUrl}/v1/track`,
          'POST',
          { authorization: basicAuth(ws.writeKey), 'content-type': label },
          Buffer.from('userId=u&event=E'),
        );
        expect(response.status).toBe(400);
        expect(JSON.parse(response.body)).toMatchObject({ errors: [{ field: 'body', reason: 'is not valid JSON' }] });
      }
    });
  });

  describe('empty ids', () => {
    it('stores a page with "userId": "" and an anonymousId, as RudderStack sends it before identify', async () => {
      const messageId = unique('empty-user');
      await app!
        .http()
        .post('/v1/page')
        .set('authorization', basicAuth(ws.writeKey))
        .send({ userId: '', anonymousId: 'anon-empty', name: 'Home', messageId })
        .expect(200);
      expect(await stored(messageId)).toMatchObject({ user_id: null, anonymous_id: 'anon-empty' });
    });

    it('still refuses a message whose ids are both empty or absent, naming both', async () => {
      const response = await app!
        .http()
        .post('/v1/batch')
        .set('authorization', basicAuth(ws.writeKey))
        .send({ batch: [{ type: 'track', userId: '', anonymousId: '', event: 'E' }] })
        .expect(400);
      expect(response.body.errors).toEqual([
        { field: 'batch[0].userId', reason: 'is required unless anonymousId is given' },
        { field: 'batch[0].anonymousId', reason: 'is required unless userId is given' },
      ]);
    });
  });

  describe('identify traits in context.traits', () => {
    const identify = (body: object) =>
      app!.http().post('/v1/identify').set('authorization', basicAuth(ws.writeKey)).send(body).expect(200);

    it('become the traits of the event and the profile, and resolve the email identity', async () => {
      const messageId = unique('ctx-traits');
      await identify({
        userId: 'ctx-user',
        anonymousId: 'ctx-anon',
        messageId,
        context: { traits: { email: 'Ctx@Example.com', plan: 'free' } },
      });
      const event = await stored(messageId);
      expect(event?.traits).toEqual({ email: 'Ctx@Example.com', plan: 'free' });
      expect(await traitsOf(event?.profile_id)).toEqual({ email: 'Ctx@Example.com', plan: 'free' });
      expect(await profileOf(sql!, ws.workspaceId, 'email', 'ctx@example.com')).toBe(event?.profile_id);

      // A later identify of the known profile: the top-level traits win over context.traits.
      const later = unique('ctx-traits');
      await identify({
        userId: 'ctx-user',
        messageId: later,
        traits: { plan: 'pro' },
        context: { traits: { plan: 'enterprise', seats: 5 } },
      });
      expect((await stored(later))?.traits).toEqual({ plan: 'pro', seats: 5 });
      expect(await traitsOf(event?.profile_id)).toEqual({ email: 'Ctx@Example.com', plan: 'pro', seats: 5 });
    });
  });
});
