import request from 'supertest';

import { createPersonae } from '../../src/app.factory';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { basicAuth, profileOf, TestSql } from '../tracking/tracking-support';

const PARALLEL = 20;

describe('identity resolution under concurrency', () => {
  let app: TestApp;
  let sql: TestSql;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' });
    sql = await TestSql.connect(app);
  });
  afterAll(async () => {
    await sql.close();
    await app.close();
  });

  const inParallel = async (ws: WorkspaceCredentials, bodies: object[]): Promise<number[]> => {
    const responses = await Promise.all(
      bodies.map((body) => app.http().post('/v1/batch').set('authorization', basicAuth(ws.writeKey)).send(body)),
    );
    return responses.map((response) => response.status);
  };
  const count = (text: string, ws: WorkspaceCredentials) => sql.count(text, [ws.workspaceId]);
  const liveProfiles = (ws: WorkspaceCredentials) =>
    count('SELECT count(*) FROM profiles WHERE workspace_id = $1 AND merged_into_id IS NULL', ws);

  it('creates exactly one profile for 20 simultaneous first sightings of an anonymousId', async () => {
    const ws = await createWorkspace(app);
    const statuses = await inParallel(
      ws,
      Array.from({ length: PARALLEL }, (_, i) => ({
        batch: [{ type: 'page', anonymousId: 'fresh-device', name: `P${i}` }],
      })),
    );
    expect(statuses).toEqual(Array(PARALLEL).fill(200));
    expect(await count('SELECT count(*) FROM profiles WHERE workspace_id = $1', ws)).toBe(1);
    expect(await count('SELECT count(*) FROM identities WHERE workspace_id = $1', ws)).toBe(1);
    const id = await profileOf(sql, ws.workspaceId, 'anonymous_id', 'fresh-device');
    expect(await sql.count('SELECT count(*) FROM events WHERE profile_id = $1', [id])).toBe(PARALLEL);
  });

  it('creates one profile for 20 simultaneous anonymousId+userId combinations of one new user', async () => {
    const ws = await createWorkspace(app);
    const statuses = await inParallel(
      ws,
      Array.from({ length: PARALLEL }, (_, i) => ({
        batch: [{ type: 'identify', anonymousId: `device-${i}`, userId: 'new-user', traits: { n: i } }],
      })),
    );
    expect(statuses).toEqual(Array(PARALLEL).fill(200));
    expect(await liveProfiles(ws)).toBe(1);
    const id = await profileOf(sql, ws.workspaceId, 'user_id', 'new-user');
    expect(await sql.count('SELECT count(*) FROM identities WHERE profile_id = $1', [id])).toBe(PARALLEL + 1);
    expect(await sql.count('SELECT count(*) FROM events WHERE profile_id = $1', [id])).toBe(PARALLEL);
  });

  it('creates one profile when the same new pair arrives 20 times at once, mixed with anonymous-only calls', async () => {
    const ws = await createWorkspace(app);
    const statuses = await inParallel(
      ws,
      Array.from({ length: PARALLEL }, (_, i) => ({
        batch: [
          i % 2 === 0
            ? { type: 'track', anonymousId: 'pair-anon', userId: 'pair-user', event: 'E' }
            : { type: 'track', anonymousId: 'pair-anon', event: 'E' },
        ],
      })),
    );
    expect(statuses).toEqual(Array(PARALLEL).fill(200));
    expect(await liveProfiles(ws)).toBe(1);
    expect(await count('SELECT count(*) FROM events WHERE workspace_id = $1', ws)).toBe(PARALLEL);
    expect(await profileOf(sql, ws.workspaceId, 'anonymous_id', 'pair-anon')).toBe(
      await profileOf(sql, ws.workspaceId, 'user_id', 'pair-user'),
    );
  });

  it('creates one profile when two API processes see the same new person at once', async () => {
    // A process waits for its own requests creating the same identity; across processes the
    // write's guard decides, and the loser resolves again.
    const ws = await createWorkspace(app);
    const other = await createPersonae(app.config);
    try {
      const server = other.http?.getHttpServer();
      if (!server) throw new Error('the api role serves HTTP');
      const responses = await Promise.all(
        Array.from({ length: PARALLEL }, (_, i) =>
          (i % 2 === 0 ? app.http() : request(server))
            .post('/v1/batch')
            .set('authorization', basicAuth(ws.writeKey))
            .send({ batch: [{ type: 'track', anonymousId: 'two-processes', userId: 'two-user', event: `E${i}` }] }),
        ),
      );
      expect(responses.map((response) => response.status)).toEqual(Array(PARALLEL).fill(200));
    } finally {
      await other.close();
    }
    expect(await count('SELECT count(*) FROM profiles WHERE workspace_id = $1', ws)).toBe(1);
    expect(await count('SELECT count(*) FROM identities WHERE workspace_id = $1', ws)).toBe(2);
    expect(await count('SELECT count(*) FROM events WHERE workspace_id = $1', ws)).toBe(PARALLEL);
  });

  it('keeps every event of overlapping concurrent batches on the profile that finally owns it', async () => {
    const ws = await createWorkspace(app);
    // Ten existing anonymous profiles; twenty batches concurrently tie them to users and to each other.
    await inParallel(ws, [{ batch: Array.from({ length: 10 }, (_, i) => ({ type: 'page', anonymousId: `a${i}` })) }]);
    const statuses = await inParallel(
      ws,
      Array.from({ length: PARALLEL }, (_, i) => ({
        batch: [
          { type: 'track', anonymousId: `a${i % 10}`, userId: `u${i % 5}`, event: 'E' },
          { type: 'track', anonymousId: `a${(i + 5) % 10}`, userId: `u${i % 5}`, event: 'E' },
        ],
      })),
    );
    expect(statuses).toEqual(Array(PARALLEL).fill(200));
    expect(await liveProfiles(ws)).toBe(5);
    for (let u = 0; u < 5; u += 1) {
      const id = await profileOf(sql, ws.workspaceId, 'user_id', `u${u}`);
      expect(await profileOf(sql, ws.workspaceId, 'anonymous_id', `a${u}`)).toBe(id);
      expect(await profileOf(sql, ws.workspaceId, 'anonymous_id', `a${u + 5}`)).toBe(id);
    }
    // No event is left on a merged-away profile.
    expect(
      await count(
        'SELECT count(*) FROM events e JOIN profiles p ON p.id = e.profile_id WHERE e.workspace_id = $1 AND p.merged_into_id IS NOT NULL',
        ws,
      ),
    ).toBe(0);
    expect(await count('SELECT count(*) FROM events WHERE workspace_id = $1', ws)).toBe(10 + 2 * PARALLEL);
  });
});
