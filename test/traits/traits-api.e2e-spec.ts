import { randomUUID } from 'node:crypto';

import { ManualClock } from '../../src/common/clock';
import { QueueName } from '../../src/queues/queue-names';
import { TraitComputeOutcome } from '../../src/traits/trait-computation.service';
import { finished } from '../membership/membership-support';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { waitFor } from '../support/wait-for';
import { basicAuth, profileOf, TestSql } from '../tracking/tracking-support';

const NOW = new Date('2026-06-15T12:00:00.000Z');
const DAY = 86_400_000;

/**
 * Computed traits end to end with an injected clock: definitions over REST, full computations,
 * real-time updates through the tracking API, values in profiles and audiences, history, and
 * windows that move when time passes.
 */
describe('computed traits API', () => {
  let app: TestApp;
  let sql: TestSql;
  let clock: ManualClock;

  beforeAll(async () => {
    clock = new ManualClock(NOW);
    app = await startTestApp({}, { clock });
    sql = await TestSql.connect(app);
  });

  afterAll(async () => {
    await sql.close();
    await app.close();
  });

  function api(ws: WorkspaceCredentials) {
    const auth = `Bearer ${ws.apiToken}`;
    return {
      get: (path: string) => app.http().get(path).set('authorization', auth),
      post: (path: string) => app.http().post(path).set('authorization', auth),
      patch: (path: string) => app.http().patch(path).set('authorization', auth),
      delete: (path: string) => app.http().delete(path).set('authorization', auth),
    };
  }

  async function track(
    ws: WorkspaceCredentials,
    calls: { userId: string; event: string; ago: number; properties?: object }[],
  ): Promise<void> {
    await app
      .http()
      .post('/v1/batch')
      .set('authorization', basicAuth(ws.writeKey))
      .send({
        batch: calls.map((c) => ({
          type: 'track',
          userId: c.userId,
          event: c.event,
          properties: c.properties ?? {},
          messageId: randomUUID(),
          timestamp: new Date(clock.now().getTime() - c.ago).toISOString(),
        })),
      })
      .expect(200);
  }

  async function createTrait(ws: WorkspaceCredentials, key: string, definition: unknown): Promise<string> {
    const response = await api(ws).post('/api/traits').send({ key, name: key, definition }).expect(201);
    const id = response.body.id as string;
    await waitFor(async () => (await api(ws).get(`/api/traits/${id}`)).body.status === 'ready', {
      what: `trait ${key} computed`,
    });
    return id;
  }

  async function computed(ws: WorkspaceCredentials, profileId: string): Promise<Record<string, unknown>> {
    return (await api(ws).get(`/api/profiles/${profileId}`).expect(200)).body.computedTraits as Record<string, unknown>;
  }

  it('computes every kind of trait from the seed examples and shows them on the profile', async () => {
    const ws = await createWorkspace(app);
    await track(ws, [
      { userId: 'ada', event: 'Login', ago: 1 * DAY },
      { userId: 'ada', event: 'Login', ago: 2 * DAY },
      { userId: 'ada', event: 'Login', ago: 10 * DAY },
      { userId: 'ada', event: 'Order Completed', ago: 3 * DAY, properties: { revenue: 120, total: 150 } },
      { userId: 'ada', event: 'Order Completed', ago: 100 * DAY, properties: { revenue: 80, total: 50 } },
      { userId: 'ada', event: 'Signed Up', ago: 120 * DAY, properties: { plan: 'Free' } },
      { userId: 'ada', event: 'Plan Selected', ago: 50 * DAY, properties: { plan: 'Team' } },
      { userId: 'ada', event: 'Plan Selected', ago: 5 * DAY, properties: { plan: 'Business' } },
      { userId: 'ada', event: 'Page Viewed', ago: 1 * DAY, properties: { category: 'docs' } },
      { userId: 'ada', event: 'Page Viewed', ago: 2 * DAY, properties: { category: 'docs' } },
      { userId: 'ada', event: 'Page Viewed', ago: 3 * DAY, properties: { category: 'pricing' } },
      { userId: 'ada', event: 'Feature Used', ago: 4 * DAY, properties: { feature: 'sources' } },
      { userId: 'ada', event: 'Feature Used', ago: 6 * DAY, properties: { feature: 'audiences' } },
      { userId: 'ada', event: 'Feature Used', ago: 7 * DAY, properties: { feature: 'sources' } },
      { userId: 'bob', event: 'Login', ago: 20 * DAY },
    ]);
    const ada = (await profileOf(sql, ws.workspaceId, 'user_id', 'ada'))!;
    const bob = (await profileOf(sql, ws.workspaceId, 'user_id', 'bob'))!;

    const definitions: Record<string, unknown> = {
      logins_7d: 'count "Login" within 7 days',
      big_orders: 'count "Order Completed" where total > 100',
      revenue_90d: 'sum "Order Completed".revenue within 90 days',
      avg_revenue: { type: 'aggregate', fn: 'avg', event: 'Order Completed', property: ['revenue'] },
      signup_plan: 'first "Signed Up".plan',
      current_plan: 'last "Plan Selected".plan',
      top_category: 'most frequent "Page Viewed".category within 30 days',
      features_30d: 'distinct "Feature Used".feature within 30 days',
      feature_count: 'count distinct "Feature Used".feature',
      days_since_login: 'days since last "Login"',
      age_days: 'days since first seen',
      active_weeks: 'weeks with "Login" in last 8 weeks',
    };
    for (const [key, definition] of Object.entries(definitions)) await createTrait(ws, key, definition);

    expect(await computed(ws, ada)).toEqual({
      logins_7d: 2,
      big_orders: 1,
      revenue_90d: 120,
      avg_revenue: 100,
      signup_plan: 'Free',
      current_plan: 'Business',
      top_category: 'docs',
      features_30d: ['audiences', 'sources'],
      feature_count: 2,
      days_since_login: 1,
      age_days: 120,
      // 2026-06-15 is a Monday: the logins 1 and 2 days ago are last week, 10 days ago the one before.
      active_weeks: 2,
    });
    // Counts are 0 without events; other traits have no value.
    expect(await computed(ws, bob)).toEqual({
      logins_7d: 0,
      big_orders: 0,
      feature_count: 0,
      days_since_login: 20,
      age_days: 20,
      active_weeks: 1,
    });

    const list = await api(ws).get('/api/traits?limit=5').expect(200);
    expect((list.body.items as { key: string }[]).map((t) => t.key)).toEqual([
      'active_weeks',
      'age_days',
      'avg_revenue',
      'big_orders',
      'current_plan',
    ]);
    expect(list.body.nextCursor).toEqual(expect.any(String));
    const trait = list.body.items[2];
    expect(trait).toMatchObject({
      key: 'avg_revenue',
      level: 'profile',
      definitionText: 'avg "Order Completed".revenue',
      status: 'ready',
      valueCount: 1,
      version: 1,
    });
  });

  it('answers 400 with line and column, 404, 409, and refuses a definition of the other level', async () => {
    const ws = await createWorkspace(app);
    const bad = await api(ws)
      .post('/api/traits')
      .send({ key: 'x', name: 'x', definition: 'count Login within 7 days' })
      .expect(400);
    expect(bad.body.message).toContain('line 1, col 7');
    const badJson = await api(ws)
      .post('/api/traits')
      .send({ key: 'x', name: 'x', definition: { type: 'count', event: 'A', window: { kind: 'soon' } } })
      .expect(400);
    expect(badJson.body.errors[0].field).toBe('definition.window.kind');
    const account = await api(ws)
      .post('/api/traits')
      .send({ key: 'x', name: 'x', definition: 'count "Login"', level: 'account' })
      .expect(400);
    expect(account.body.errors[0]).toMatchObject({
      field: 'definition',
      reason: expect.stringContaining('line 1, col 1: `count "Login"` is about one person'),
    });
    await api(ws).post('/api/traits').send({ key: 'Bad Key', name: 'x', definition: 'count "A"' }).expect(400);
    await api(ws).post('/api/traits').send({ key: 'x', name: 'x', definition: 42 }).expect(400);
    await api(ws).post('/api/traits/preview').send({ definition: 'days since' }).expect(400);

    const id = await createTrait(ws, 'logins', 'count "Login"');
    await api(ws).post('/api/traits').send({ key: 'logins', name: 'again', definition: 'count "A"' }).expect(409);
    await api(ws).get(`/api/traits/${randomUUID()}`).expect(404);
    await api(ws).get('/api/traits/not-a-uuid').expect(400);
    await api(ws).get(`/api/traits/${id}/history?cursor=nonsense`).expect(400);

    // Audiences read traits by key; unknown keys are refused and a used trait cannot be deleted.
    const unknown = await api(ws)
      .post('/api/audiences')
      .send({ key: 'a', name: 'a', definition: 'computed nope >= 1' })
      .expect(400);
    expect(unknown.body.message).toContain('computed trait "nope"');
    await api(ws)
      .post('/api/audiences')
      .send({ key: 'loggers', name: 'l', definition: 'computed logins >= 1' })
      .expect(201);
    const refused = await api(ws).delete(`/api/traits/${id}`).expect(409);
    expect(refused.body.referencedBy).toEqual(['loggers']);

    const other = await createTrait(ws, 'unused', 'count "A"');
    await api(ws).delete(`/api/traits/${other}`).expect(204);
    await api(ws).get(`/api/traits/${other}`).expect(404);
    const left = await sql.count(
      'SELECT (SELECT count(*) FROM computed_trait_values WHERE trait_id = $1) + (SELECT count(*) FROM computed_trait_history WHERE trait_id = $1) AS count',
      [other],
    );
    expect(left).toBe(0);

    // Another workspace sees nothing.
    const stranger = await createWorkspace(app);
    await api(stranger).get(`/api/traits/${id}`).expect(404);
  });

  it('previews a definition: count, statistics, top values, a sample and the SQL', async () => {
    const ws = await createWorkspace(app);
    await track(ws, [
      { userId: 'a', event: 'Order Completed', ago: DAY, properties: { revenue: 10, category: 'shoes' } },
      { userId: 'a', event: 'Order Completed', ago: 2 * DAY, properties: { revenue: 30, category: 'hats' } },
      { userId: 'b', event: 'Order Completed', ago: DAY, properties: { revenue: 5, category: 'shoes' } },
      { userId: 'c', event: 'Page Viewed', ago: DAY },
    ]);
    const numbers = await api(ws)
      .post('/api/traits/preview')
      .send({ definition: 'sum "Order Completed".revenue within 30 days' })
      .expect(200);
    expect(numbers.body).toMatchObject({ count: 2, kind: 'number', min: 5, max: 40, mean: 22.5 });
    expect(numbers.body.sample).toHaveLength(2);
    expect(numbers.body.sql).toContain('FROM events e');
    const values = await api(ws)
      .post('/api/traits/preview')
      .send({ definition: 'last "Order Completed".category' })
      .expect(200);
    expect(values.body).toMatchObject({ count: 2, kind: 'value' });
    expect(values.body.topValues).toEqual([{ value: 'shoes', count: 2 }]);
  });

  it('keeps values current in real time, records each change, and moves windows on recomputation', async () => {
    clock.set(NOW);
    const ws = await createWorkspace(app);
    await track(ws, [
      { userId: 'ada', event: 'Login', ago: 1 * DAY },
      { userId: 'ada', event: 'Login', ago: 2 * DAY },
    ]);
    const ada = (await profileOf(sql, ws.workspaceId, 'user_id', 'ada'))!;
    const trait = await createTrait(ws, 'logins_7d', 'count "Login" within 7 days');
    const audience = (
      await api(ws)
        .post('/api/audiences')
        .send({ key: 'engaged', name: 'Engaged', definition: 'computed logins_7d >= 2' })
        .expect(201)
    ).body.id as string;
    const members = async () =>
      (await api(ws).get(`/api/audiences/${audience}/members`).expect(200)).body.items as unknown[];
    await waitFor(async () => (await members()).length === 1, { what: 'ada in the audience' });

    // A new login: the batch participant recomputes ada's value before audiences are evaluated.
    await track(ws, [
      { userId: 'bob', event: 'Login', ago: 0 },
      { userId: 'bob', event: 'Login', ago: 1000 },
    ]);
    const bob = await waitFor(() => profileOf(sql, ws.workspaceId, 'user_id', 'bob'), { what: 'bob' });
    await waitFor(async () => (await computed(ws, bob)).logins_7d === 2, { what: "bob's logins in real time" });
    await waitFor(async () => (await members()).length === 2, { what: 'bob in the audience' });

    // Eight days later nobody logged in within 7 days: the (scheduled or manual) computation moves
    // the window, and the audience that reads the trait is computed after it.
    clock.advance(8 * DAY);
    const { jobId } = (await api(ws).post(`/api/traits/${trait}/compute`).expect(202)).body;
    const outcome = await finished<TraitComputeOutcome>(app, QueueName.ComputeTraits, jobId);
    expect(outcome).toMatchObject({ kind: 'computed', changed: 2, valueCount: 2, audiences: 1 });
    expect(await computed(ws, ada)).toEqual({ logins_7d: 0 });
    await waitFor(async () => (await members()).length === 0, { what: 'everyone to leave the audience' });

    const history = await api(ws).get(`/api/traits/${trait}/history?profileId=${ada}`).expect(200);
    expect(history.body.items).toEqual([
      { profileId: ada, oldValue: null, newValue: 2, at: NOW.toISOString() },
      { profileId: ada, oldValue: 2, newValue: 0, at: new Date(NOW.getTime() + 8 * DAY).toISOString() },
    ]);
    const page = await api(ws).get(`/api/traits/${trait}/history?limit=1`).expect(200);
    expect(page.body.items).toHaveLength(1);
    const next = await api(ws).get(`/api/traits/${trait}/history?limit=10&cursor=${page.body.nextCursor}`).expect(200);
    // ada: null→2, 2→0; bob: null→0 (at creation bob did not exist), 0→2 in real time, 2→0.
    expect(page.body.items.length + next.body.items.length).toBe(4);

    // A recomputation that changes nothing writes no history.
    clock.advance(1);
    const again = (await api(ws).post(`/api/traits/${trait}/compute`).expect(202)).body.jobId;
    expect(await finished<TraitComputeOutcome>(app, QueueName.ComputeTraits, again)).toMatchObject({ changed: 0 });
  });

  it('deleting a trait removes its values and history', async () => {
    clock.set(NOW);
    const ws = await createWorkspace(app);
    await track(ws, [{ userId: 'someone', event: 'Login', ago: DAY }]);
    const trait = await createTrait(ws, 'logins', 'count "Login"');
    const rows = () =>
      sql.count(
        'SELECT (SELECT count(*) FROM computed_trait_values WHERE trait_id = $1) + (SELECT count(*) FROM computed_trait_history WHERE trait_id = $1) AS count',
        [trait],
      );
    expect(await rows()).toBe(2);
    await api(ws).delete(`/api/traits/${trait}`).expect(204);
    expect(await rows()).toBe(0);
  });

  it('erasing a profile removes its values and history', async () => {
    clock.set(NOW);
    const ws = await createWorkspace(app);
    await track(ws, [{ userId: 'gone', event: 'Login', ago: DAY }]);
    const gone = (await profileOf(sql, ws.workspaceId, 'user_id', 'gone'))!;
    await createTrait(ws, 'logins', 'count "Login"');
    expect(await computed(ws, gone)).toEqual({ logins: 1 });
    await api(ws)
      .delete(`/api/profiles/${gone}`)
      .expect((r) => expect(r.status).toBeLessThan(300));
    expect(
      await sql.count(
        'SELECT (SELECT count(*) FROM computed_trait_values WHERE profile_id = $1) + (SELECT count(*) FROM computed_trait_history WHERE profile_id = $1) AS count',
        [gone],
      ),
    ).toBe(0);
  });
});
