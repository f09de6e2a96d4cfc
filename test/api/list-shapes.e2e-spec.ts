import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';

interface ListBody {
  items: { id: string; key?: string; name?: string }[];
  nextCursor: string | null;
}

const EMAIL = { from: 'Acme <hello@acme.test>', subject: 'Hi', text: 'Hi' };

/** Every list of the management API answers {"items","nextCursor"}; lists that can grow page by cursor. */
describe('list responses', () => {
  let app: TestApp;
  let ws: WorkspaceCredentials;

  beforeAll(async () => {
    // No workers: listing is all this needs, and created audiences may stay pending.
    app = await startTestApp({ ROLE: 'api' });
    ws = await createWorkspace(app, 'Lists');
  });
  afterAll(() => app.close());

  const get = (path: string) => app.http().get(path).set('authorization', `Bearer ${ws.apiToken}`);
  const post = (path: string, body: object) =>
    app.http().post(path).set('authorization', `Bearer ${ws.apiToken}`).send(body);

  async function walk(path: string, limit: number, between?: (page: number) => Promise<void>): Promise<string[][]> {
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const query: string = `limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const body = (await get(`${path}?${query}`).expect(200)).body as ListBody;
      expect(Object.keys(body).sort()).toEqual(['items', 'nextCursor']);
      expect(body.items.length).toBeLessThanOrEqual(limit);
      pages.push(body.items.map((item) => item.id));
      cursor = body.nextCursor;
      if (cursor !== null) await between?.(pages.length);
    } while (cursor !== null && pages.length < 50);
    return pages;
  }

  async function all(path: string): Promise<string[]> {
    const body = (await get(`${path}?limit=1000`).expect(200)).body as ListBody;
    expect(body.nextCursor).toBeNull();
    return body.items.map((item) => item.id);
  }

  describe.each([
    {
      path: '/api/audiences',
      make: (i: number) =>
        post('/api/audiences', { key: `list-${i}`, name: `List ${i}`, definition: 'active within 7 days' }),
    },
    { path: '/api/sources', make: (i: number) => post('/api/sources', { name: `Source ${i}` }) },
    {
      path: '/api/destinations',
      make: (i: number) => post('/api/destinations', { type: 'email', name: `Email ${i}`, config: EMAIL }),
    },
  ])('$path', ({ path, make }) => {
    beforeAll(async () => {
      for (let i = 0; i < 5; i += 1) await make(i).expect(201);
    });

    it('pages through every row exactly once, in the order of the whole list', async () => {
      const everything = await all(path);
      expect(everything.length).toBeGreaterThanOrEqual(5);
      const pages = await walk(path, 2);
      expect(pages).toHaveLength(Math.ceil(everything.length / 2));
      expect(pages.flat()).toEqual(everything);
    });

    it('neither skips nor repeats a row when rows are added between pages', async () => {
      const before = await all(path);
      let added = 0;
      const pages = await walk(path, 2, async () => {
        added += 1;
        await make(100 + added).expect(201);
      });
      const seen = pages.flat();
      expect(new Set(seen).size).toBe(seen.length);
      for (const id of before) expect(seen).toContain(id);
    });

    it('refuses a cursor it did not hand out and a page size out of range, naming the field', async () => {
      for (const cursor of ['garbage', Buffer.from('2026-01-01T00:00:00.000Z|x').toString('base64url')]) {
        const bad = await get(`${path}?cursor=${cursor}`).expect(400);
        expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'cursor' })]);
      }
      for (const limit of ['0', '1001', 'ten']) {
        const bad = await get(`${path}?limit=${limit}`).expect(400);
        const fields = (bad.body.errors as { field: string }[]).map((problem) => problem.field);
        expect(new Set(fields)).toEqual(new Set(['limit']));
      }
    });
  });

  it('answers the one-page lists in the same shape', async () => {
    const audience = (await get('/api/audiences?limit=1').expect(200)).body as ListBody;
    const audienceId = audience.items[0]?.id;
    const connections = await get(`/api/audiences/${audienceId}/destinations`).expect(200);
    expect(connections.body).toEqual({ items: [], nextCursor: null });
    const profiles = await get('/api/profiles?identifier=email:nobody@example.test').expect(200);
    expect(profiles.body).toEqual({ items: [], nextCursor: null });
  });

  it('keeps every workspace to its own rows', async () => {
    const other = await createWorkspace(app, 'Other lists');
    for (const path of ['/api/audiences', '/api/destinations']) {
      const body = (await app.http().get(path).set('authorization', `Bearer ${other.apiToken}`).expect(200))
        .body as ListBody;
      expect(body).toEqual({ items: [], nextCursor: null });
    }
    const sources = (await app.http().get('/api/sources').set('authorization', `Bearer ${other.apiToken}`).expect(200))
      .body as ListBody;
    expect(sources.items.map((s) => s.id)).toEqual([other.sourceId]);
  });
});
