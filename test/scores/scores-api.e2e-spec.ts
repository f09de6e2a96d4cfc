/**
 * The scores API: validation that names the field (conditions with line and column), keys that
 * clash with computed traits or other scores, the CRUD cycle, profile-level scores read by profile
 * audiences, explain, real-time updates, and the snapshot period.
 */
import { ManualClock } from '../../src/common/clock';
import { QueueName } from '../../src/queues/queue-names';
import { finished } from '../membership/membership-support';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { waitFor } from '../support/wait-for';
import { basicAuth, profileOf, TestSql } from '../tracking/tracking-support';

const T0 = new Date('2026-09-09T12:00:00.000Z');

const BANDS = [
  { name: 'high', min: 50 },
  { name: 'low', min: 0 },
];

describe('scores API', () => {
  let clock: ManualClock;
  let app: TestApp;
  let sql: TestSql;

  beforeAll(async () => {
    clock = new ManualClock(T0);
    app = await startTestApp({}, { clock });
    sql = await TestSql.connect(app);
  });

  afterAll(async () => {
    await sql?.close();
    await app?.close();
  });

  function client(ws: WorkspaceCredentials) {
    const auth = `Bearer ${ws.apiToken}`;
    return {
      get: (path: string) => app.http().get(path).set('authorization', auth),
      post: (path: string) => app.http().post(path).set('authorization', auth),
      patch: (path: string) => app.http().patch(path).set('authorization', auth),
      delete: (path: string) => app.http().delete(path).set('authorization', auth),
      async track(batch: object[]): Promise<void> {
        await app
          .http()
          .post('/v1/batch')
          .set('authorization', basicAuth(ws.writeKey))
          .send({ batch: batch.map((m, i) => ({ messageId: `m-${Date.now()}-${Math.random()}-${i}`, ...m })) })
          .expect(200);
      },
    };
  }

  const login = (userId: string) => ({ type: 'track', userId, event: 'Login', timestamp: clock.now().toISOString() });

  it('refuses bad definitions with the field and the reason, and saves nothing', async () => {
    const api = client(await createWorkspace(app));
    const problems = async (body: object) => {
      const response = await api.post('/api/scores').send(body).expect(400);
      return response.body.errors as { field: string; reason: string }[];
    };
    const valid = {
      key: 'engagement',
      name: 'Engagement',
      components: [{ name: 'Logged in', condition: 'performed "Login"', points: 10 }],
      bands: BANDS,
    };
    expect(
      await problems({
        ...valid,
        components: [
          { name: 'a', condition: 'performed "Login"', points: 10 },
          { name: 'b', condition: 'performed "Login"', points: 0 },
          { name: 'c', condition: 'performed "Login" within x days', points: 10 },
        ],
      }),
    ).toEqual([
      { field: 'components[1].points', reason: 'must be a whole number from 1 to 1000' },
      { field: 'components[2].condition', reason: 'line 1, col 26: expected a whole number' },
    ]);
    expect(await problems({ ...valid, bands: [{ name: 'high', min: 50 }] })).toEqual([
      { field: 'bands', reason: expect.stringContaining('must cover 0') as string },
    ]);
    expect(
      await problems({
        ...valid,
        bands: [
          { name: 'a', min: 0 },
          { name: 'a', min: 0 },
        ],
      }),
    ).toEqual([
      { field: 'bands[1].name', reason: '"a" names another band too' },
      { field: 'bands[1].min', reason: 'another band starts at 0 too' },
    ]);
    // A condition at the wrong level: a person's condition in an account score.
    const [wrongLevel] = await problems({ ...valid, level: 'account' });
    expect(wrongLevel).toEqual({
      field: 'components[0].condition',
      reason: expect.stringMatching(/^line 1, col 1: .*condition on a person/) as string,
    });
    expect(await problems({ ...valid, key: 'engagement_band' })).toEqual([
      { field: 'key', reason: expect.stringContaining('must not end in "_band"') as string },
    ]);
    expect(await problems({ ...valid, snapshot: 'hourly' })).toEqual([
      { field: 'snapshot', reason: 'must be one of daily, weekly, monthly' },
    ]);
    expect(
      await problems({ ...valid, components: [{ name: 'x', condition: 'computed nope >= 1', points: 5 }] }),
    ).toEqual([{ field: 'components[0].condition', reason: expect.stringContaining('"computed nope"') as string }]);
    expect(
      await problems({ ...valid, components: [{ name: 'x', condition: 'in audience "nope"', points: 5 }] }),
    ).toEqual([{ field: 'components[0].condition', reason: 'refers to audience "nope", which does not exist' }]);
    expect(await problems({ ...valid, components: [] })).toEqual([
      { field: 'components', reason: expect.stringContaining('must be a list of 1 to 20') as string },
    ]);
    await api
      .post('/api/scores')
      .send({ ...valid, extra: 1 })
      .expect(400);
    expect((await api.get('/api/scores').expect(200)).body.items).toEqual([]);
  });

  it('keeps keys apart from computed traits and from other scores and their bands', async () => {
    const api = client(await createWorkspace(app));
    await api
      .post('/api/traits')
      .send({ key: 'logins_7d', name: 'Logins', definition: 'count "Login" within 7 days' })
      .expect(201);
    const score = (key: string) => ({
      key,
      name: key,
      components: [{ name: 'Logged in', condition: 'performed "Login"', points: 10 }],
      bands: BANDS,
    });
    const clash = await api.post('/api/scores').send(score('logins_7d')).expect(409);
    expect(clash.body.errors).toEqual([{ field: 'key', reason: '"logins_7d" is already the key of a computed trait' }]);
    await api.post('/api/scores').send(score('health')).expect(201);
    await api.post('/api/scores').send(score('health')).expect(409);
    await api.post('/api/scores').send(score('health_band')).expect(400);
    // The other way round: a computed trait cannot take a key a score answers to.
    for (const key of ['health', 'health_band', 'health_change_14d']) {
      const taken = await api
        .post('/api/traits')
        .send({ key, name: key, definition: 'count "Login" within 7 days' })
        .expect(409);
      expect(taken.body.errors).toEqual([
        { field: 'key', reason: `"${key}" is already the key of adoption score "health"` },
      ]);
    }
    await api.post('/api/scores').send(score('activation')).expect(201);

    // Listed by key, a page at a time.
    const first = await api.get('/api/scores?limit=1').expect(200);
    expect((first.body.items as { key: string }[]).map((s) => s.key)).toEqual(['activation']);
    const next = await api.get(`/api/scores?limit=1&cursor=${first.body.nextCursor}`).expect(200);
    expect(next.body).toMatchObject({ items: [{ key: 'health', bandKey: 'health_band' }], nextCursor: null });
  });

  it('profile scores: CRUD, computed in audiences, explain, real time, and a new version on new bands', async () => {
    const ws = await createWorkspace(app);
    const api = client(ws);
    await api.track([login('ann'), login('ann'), login('ann'), login('bob')]);
    const trait = await api
      .post('/api/traits')
      .send({ key: 'logins_7d', name: 'Logins', definition: 'count "Login" within 7 days' })
      .expect(201);
    await finished(app, QueueName.ComputeTraits, `trait-${trait.body.id}-v1`);

    const created = await api
      .post('/api/scores')
      .send({
        key: 'engagement',
        name: 'Engagement',
        components: [
          { name: 'Logged in this week', condition: 'performed "Login" within 7 days', points: 40 },
          { name: 'Regular', condition: 'computed logins_7d >= 3', points: 60 },
        ],
        bands: BANDS,
        snapshot: 'daily',
      })
      .expect(201);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({ level: 'profile', snapshot: 'daily', status: 'pending', version: 1 });
    expect(await finished(app, QueueName.ComputeScores, `score-${id}-v1`)).toMatchObject({
      valueCount: 2,
      snapshotted: 2,
    });
    expect((await api.get(`/api/scores/${id}`).expect(200)).body).toMatchObject({ status: 'ready', valueCount: 2 });
    expect((await api.get('/api/scores').expect(200)).body.items).toHaveLength(1);

    const ann = (await profileOf(sql, ws.workspaceId, 'user_id', 'ann'))!;
    const explained = await api.get(`/api/scores/${id}/explain?profileId=${ann}`).expect(200);
    expect(explained.body).toMatchObject({ total: 100, band: 'high', stored: { value: 100, band: 'high' } });
    const profile = await api.get(`/api/profiles/${ann}`).expect(200);
    expect(profile.body.computedTraits).toEqual({ engagement: 100, engagement_band: 'high', logins_7d: 3 });
    await api.get(`/api/scores/${id}/explain?accountId=acme`).expect(400);
    await api.get(`/api/scores/${id}/explain?profileId=00000000-0000-4000-8000-000000000000`).expect(404);

    const audience = await api
      .post('/api/audiences')
      .send({ key: 'engaged', name: 'Engaged', definition: 'computed engagement_band = "high"' })
      .expect(201);
    await waitFor(
      async () => (await api.get(`/api/audiences/${audience.body.id}`).expect(200)).body.status === 'ready',
      { what: 'the audience computed' },
    );
    expect((await api.get(`/api/audiences/${audience.body.id}/members`).expect(200)).body.items).toEqual([
      expect.objectContaining({ profileId: ann }),
    ]);

    // Real time: bob's third login of the week makes him "Regular" without a computation.
    await api.track([login('bob'), login('bob')]);
    const bob = (await profileOf(sql, ws.workspaceId, 'user_id', 'bob'))!;
    await waitFor(
      async () => (await api.get(`/api/scores/${id}/history?profileId=${bob}`).expect(200)).body.current?.value === 100,
      { what: "bob's score in real time" },
    );

    // New bands: a new version, computed again; the day's snapshot is not written twice.
    const patched = await api
      .patch(`/api/scores/${id}`)
      .send({ bands: [{ name: 'all', min: 0 }] })
      .expect(200);
    expect(patched.body).toMatchObject({ version: 2, bands: [{ name: 'all', min: 0 }] });
    expect(await finished(app, QueueName.ComputeScores, `score-${id}-v2`)).toMatchObject({ snapshotted: 0 });
    const sameName = await api.patch(`/api/scores/${id}`).send({ name: 'Engagement!' }).expect(200);
    expect(sameName.body).toMatchObject({ version: 2, name: 'Engagement!' });

    // Erasing a person erases their score and its snapshots.
    expect(await sql.count('SELECT count(*) FROM score_snapshots WHERE subject_id = $1', [bob])).toBe(1);
    await api.delete(`/api/profiles/${bob}`).expect(200);
    expect(await sql.count('SELECT count(*) FROM score_values WHERE subject_id = $1', [bob])).toBe(0);
    expect(await sql.count('SELECT count(*) FROM score_snapshots WHERE subject_id = $1', [bob])).toBe(0);

    await api.delete(`/api/scores/${id}`).expect(409);
    await api.delete(`/api/audiences/${audience.body.id}`).expect(204);
    await api.delete(`/api/scores/${id}`).expect(204);
    await api.get(`/api/scores/${id}`).expect(404);
    expect(await sql.count('SELECT count(*) FROM score_values WHERE score_id = $1', [id])).toBe(0);
    expect(await sql.count('SELECT count(*) FROM score_snapshots WHERE score_id = $1', [id])).toBe(0);
  });

  it('a stored definition that no longer validates fails its computation, answers 409, and can be replaced', async () => {
    const api = client(await createWorkspace(app));
    const created = await api
      .post('/api/scores')
      .send({
        key: 'broken',
        name: 'Broken',
        components: [{ name: 'Logged in', condition: 'performed "Login"', points: 10 }],
        bands: BANDS,
      })
      .expect(201);
    const id = created.body.id as string;
    await finished(app, QueueName.ComputeScores, `score-${id}-v1`);
    await sql.rows(`UPDATE scores SET components = '[{"name": "x", "points": 10}]' WHERE id = $1`, [id]);

    await api.post(`/api/scores/${id}/compute`).expect(202);
    await waitFor(async () => (await api.get(`/api/scores/${id}`).expect(200)).body.status === 'failed', {
      what: 'the computation failed',
    });
    expect((await api.get(`/api/scores/${id}`).expect(200)).body.statusReason).toContain('components[0].condition');
    const refused = await api.get(`/api/scores/${id}/distribution`).expect(409);
    expect(refused.body.message).toContain('send its components and bands again');
    await api.patch(`/api/scores/${id}`).send({ bands: BANDS }).expect(409);

    const fixed = await api
      .patch(`/api/scores/${id}`)
      .send({ components: [{ name: 'Logged in', condition: 'performed "Login"', points: 10 }], bands: BANDS })
      .expect(200);
    expect(fixed.body.version).toBe(2);
    await finished(app, QueueName.ComputeScores, `score-${id}-v2`);
    expect((await api.get(`/api/scores/${id}`).expect(200)).body.status).toBe('ready');
  });
});
