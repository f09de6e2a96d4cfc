import fc from 'fast-check';

import { createWorkspace, startTestApp, TEST_ADMIN_TOKEN, TestApp, WorkspaceCredentials } from '../support/app';
import { basicAuth } from './tracking-support';

/**
 * The management API's JSON bodies, query strings and cursors under arbitrary input: valid bodies
 * with one value replaced by anything (NUL, unpaired surrogates, huge numbers, deep nesting,
 * wrong types), random audience-language text, random cursors. Never a 5xx.
 */

const RUNS = Number(process.env.MANAGEMENT_FUZZ_RUNS ?? 120);

const nasty = fc.constantFrom('\u0000', '\uD800', 'x\uDFFF', '', ' ', '"', '%', '😀', 'a'.repeat(300));
const anyText = fc.oneof(
  fc.string({ maxLength: 20 }),
  nasty,
  fc.tuple(fc.string(), nasty).map(([a, b]) => a + b),
);
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  anyText,
  fc.constantFrom(1e308, -1e308, 2 ** 63, -(2 ** 63), 1e-320, 1e20, 0.5, -1),
  fc.constant(Array.from({ length: 2 }, () => ({ a: [[[['deep']]]] }))),
);

const definitions = fc.oneof(
  anyText,
  fc.constantFrom(
    'performed "Signed Up" at least 99999999999999999999 times',
    'performed "A" within 99999999999 days',
    'inactive 2147483648 days',
    'trait score > 1e400',
    'trait score > 99999999999999999999999999999999999999',
    'trait signup date within 1000000000 days',
    'trait plan = "Pro\u0000"',
    'performed "A" between 0001-01-01 and 9999-12-31',
    'performed "A" between -271821-04-20 and 275760-09-13',
    'first seen within 0 days',
    'performed "A" then performed "B" within 99999999999 hours',
    'not not not not not not not not trait a exists',
    `${'('.repeat(500)}trait a exists${')'.repeat(500)}`,
    Array.from({ length: 200 }, (_, i) => `trait t${i} = "${i}"`).join(' or '),
  ),
);

/** A JSON value with the leaf at a random path replaced by `replacement`. */
function replaceLeaf(value: unknown, path: number[], replacement: unknown): unknown {
  if (path.length === 0 || typeof value !== 'object' || value === null) return replacement;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  if (entries.length === 0) return replacement;
  const [head = 0, ...rest] = path;
  const index = head % entries.length;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...value };
  const [key, child] = entries[index] ?? ['0', undefined];
  (copy as Record<string, unknown>)[key] = replaceLeaf(child, rest, replacement);
  return copy;
}

describe('management API under arbitrary input (property)', () => {
  let app: TestApp;
  let ws: WorkspaceCredentials;
  let ids: { audience: string; destination: string; profile: string; quarantine: string };

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' });
    ws = await createWorkspace(app);
    const api = (method: 'post', path: string) =>
      app.http()[method](path).set('authorization', `Bearer ${ws.apiToken}`);
    await app
      .http()
      .post('/v1/batch')
      .set('authorization', basicAuth(ws.writeKey))
      .send({ batch: [{ type: 'identify', userId: 'fuzz', traits: { plan: 'Pro' } }, { type: 'track' }] })
      .expect(200);
    const audience = await api('post', '/api/audiences')
      .send({ key: 'fuzz', name: 'Fuzz', definition: 'trait plan = "Pro"', refreshIntervalSeconds: 600 })
      .expect(201);
    const destination = await api('post', '/api/destinations')
      .send({
        type: 'webhook',
        name: 'Hook',
        config: { url: 'https://hooks.example.com/x', secret: 'a-secret-of-16-chars' },
      })
      .expect(201);
    const profiles = await app
      .http()
      .get('/api/profiles?identifier=user_id:fuzz')
      .set('authorization', `Bearer ${ws.apiToken}`)
      .expect(200);
    const quarantine = await app
      .http()
      .get('/api/quarantine')
      .set('authorization', `Bearer ${ws.apiToken}`)
      .expect(200);
    ids = {
      audience: audience.body.id,
      destination: destination.body.id,
      profile: profiles.body.items[0].id,
      quarantine: quarantine.body.items[0].id,
    };
  });
  afterAll(async () => {
    await app.close();
  });

  const templates = (): [method: 'post' | 'patch', path: string, body: unknown][] => [
    ['post', '/api/sources', { name: 'S', validation: 'strict' }],
    ['patch', `/api/sources/${ws.sourceId}`, { validation: 'lenient' }],
    ['post', '/api/audiences', { key: 'k', name: 'N', definition: 'trait plan = "Pro"', refreshIntervalSeconds: 600 }],
    ['post', '/api/audiences/preview', { definition: 'performed "A" at least 2 times within 30 days' }],
    ['patch', `/api/audiences/${ids.audience}`, { name: 'N', definition: 'trait plan = "Free"' }],
    [
      'post',
      '/api/funnels/report',
      { steps: [{ event: 'A' }, { event: 'B', where: 'plan = "Pro"' }], from: '2024-01-01', to: '2024-02-01' },
    ],
    [
      'post',
      '/api/funnels/audience',
      { steps: [{ event: 'A' }, { event: 'B' }], dropOffAtStep: 1, key: 'd', name: 'D' },
    ],
    [
      'post',
      '/api/destinations',
      { type: 'webhook', name: 'H', config: { url: 'https://h.example.com', secret: 'a-secret-of-16-chars' } },
    ],
    ['patch', `/api/destinations/${ids.destination}`, { name: 'H2', rateLimitPerSecond: 5 }],
    ['post', `/api/audiences/${ids.audience}/destinations`, { destinationId: ids.destination, backfill: false }],
    ['post', `/api/quarantine/${ids.quarantine}/replay`, { message: { type: 'track', userId: 'u', event: 'E' } }],
  ];

  const lists = (): string[] => [
    `/api/profiles/${ids.profile}/events`,
    `/api/audiences/${ids.audience}/members`,
    `/api/audiences/${ids.audience}/transitions`,
    `/api/destinations/${ids.destination}/deliveries`,
    '/api/quarantine',
    '/api/profiles',
    '/api/audiences',
    '/api/sources',
  ];

  it('answers JSON bodies with anything but a 5xx', async () => {
    const mutation = fc.record({
      template: fc.nat(),
      path: fc.array(fc.nat(), { maxLength: 4 }),
      replacement: fc.oneof(anyValue, definitions),
      whole: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ template, path, replacement, whole }) => {
        const all = templates();
        const [method, url, body] = all[template % all.length] ?? all[0]!;
        const sent = whole ? replacement : replaceLeaf(body, path, replacement);
        const client = app.http();
        const response = await (method === 'post' ? client.post(url) : client.patch(url))
          .set('authorization', `Bearer ${ws.apiToken}`)
          .set('content-type', 'application/json')
          .send(JSON.stringify(sent) ?? 'null');
        expect({ url, sent, status: response.status }).toEqual({ url, sent, status: expect.any(Number) });
        expect({ url, sent, status: response.status < 500 }).toEqual({ url, sent, status: true });
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  });

  it('answers query strings and cursors with anything but a 5xx', async () => {
    const query = fc.record({
      list: fc.nat(),
      cursor: fc.oneof(
        anyText,
        fc.base64String({ maxLength: 80 }),
        fc
          .tuple(
            fc.oneof(
              fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString())),
              anyText,
            ),
            anyText,
          )
          .map(([a, b]) => Buffer.from(`${a}|${b}`).toString('base64url')),
      ),
      limit: fc.oneof(fc.constant(undefined), anyText, fc.constantFrom('0', '-1', '1e9', '99999999999999999999', '5')),
      extra: fc.oneof(
        fc.constant(''),
        fc.constantFrom('&identifier=email:%00', '&kind=%ED%A0%80', '&sourceId=x', '&cursor=a&cursor=b'),
      ),
    });
    await fc.assert(
      fc.asyncProperty(query, async ({ list, cursor, limit, extra }) => {
        const all = lists();
        // A URL cannot carry an unpaired surrogate (encodeURIComponent throws); %ED%A0%80 in `extra` tries.
        const encode = (text: string) => encodeURIComponent(text.replace(/[\uD800-\uDFFF]/g, '\uFFFD'));
        const url =
          `${all[list % all.length]}?cursor=${encode(cursor)}` +
          (limit === undefined ? '' : `&limit=${encode(limit)}`) +
          extra;
        const response = await app.http().get(url).set('authorization', `Bearer ${ws.apiToken}`);
        expect({ url, ok: response.status < 500 }).toEqual({ url, ok: true });
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    await app.http().get('/health').expect(200);
  });

  it('answers the admin endpoint with anything but a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(anyValue, async (name) => {
        const response = await app
          .http()
          .post('/api/workspaces')
          .set('authorization', `Bearer ${TEST_ADMIN_TOKEN}`)
          .send({ name });
        expect({ name, ok: response.status < 500 }).toEqual({ name, ok: true });
      }),
      { numRuns: Math.ceil(RUNS / 4), endOnFailure: true },
    );
  });
});
