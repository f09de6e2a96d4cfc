import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';

import type { ComputeAudienceJob } from '../../src/audiences/audience-jobs';
import { QueueName } from '../../src/queues/queue-names';
import { createWorkspace, WorkspaceCredentials } from '../support/app';
import { AudienceHarness, DAY, NOW } from './audience-support';

interface AudienceBody {
  id: string;
  key: string;
  version: number;
  definitionText: string;
  [field: string]: unknown;
}

describe('audiences REST API', () => {
  let harness: AudienceHarness;
  let a: WorkspaceCredentials;
  let b: WorkspaceCredentials;
  let queue: Queue<ComputeAudienceJob>;

  beforeAll(async () => {
    harness = await AudienceHarness.start();
    a = await createWorkspace(harness.app, 'A');
    b = await createWorkspace(harness.app, 'B');
    queue = harness.app.personae.app.get<Queue<ComputeAudienceJob>>(getQueueToken(QueueName.Compute));
  });
  afterAll(() => harness.close());
  afterEach(() => harness.clock.set(NOW));

  const api = (workspace: WorkspaceCredentials) => ({
    post: (path: string, body: object) =>
      harness.app.http().post(path).set('authorization', `Bearer ${workspace.apiToken}`).send(body),
    patch: (path: string, body: object) =>
      harness.app.http().patch(path).set('authorization', `Bearer ${workspace.apiToken}`).send(body),
    get: (path: string) => harness.app.http().get(path).set('authorization', `Bearer ${workspace.apiToken}`),
    delete: (path: string) => harness.app.http().delete(path).set('authorization', `Bearer ${workspace.apiToken}`),
  });

  async function create(workspace: WorkspaceCredentials, body: object): Promise<AudienceBody> {
    const response = await api(workspace).post('/api/audiences', body);
    if (response.status !== 201)
      throw new Error(`create answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body as AudienceBody;
  }

  it('creates an audience from text, in the contract shape, and enqueues its computation', async () => {
    const response = await api(a)
      .post('/api/audiences', {
        key: 'dormant-newbies',
        name: 'Dormant newbies',
        definition: 'never   performed "Tutorial Viewed"  AND inactive 30 days',
      })
      .expect(201);
    expect(response.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      key: 'dormant-newbies',
      name: 'Dormant newbies',
      level: 'profile',
      definitionText: 'never performed "Tutorial Viewed" and inactive 30 days',
      definitionAst: {
        type: 'and',
        conditions: [
          { type: 'not_performed', event: 'Tutorial Viewed' },
          { type: 'inactive', duration: { amount: 30, unit: 'days' } },
        ],
      },
      includeHistoricalData: true,
      historyStartsAt: null,
      refreshIntervalSeconds: 3600,
      version: 1,
      status: 'pending',
      statusReason: null,
      memberCount: 0,
      lastComputedAt: null,
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
    });
    const job = await queue.getJob(`compute-${response.body.id}-v1`);
    expect(job?.name).toBe('compute');
    expect(job?.data).toEqual({ workspaceId: a.workspaceId, audienceId: response.body.id, reason: 'created' });
  });

  it('accepts the JSON AST and stores both forms', async () => {
    const created = await create(a, {
      key: 'big-spenders',
      name: 'Big spenders',
      definition: {
        type: 'performed',
        event: 'Order Completed',
        count: { op: 'at_least', value: 3 },
        window: { kind: 'within', duration: { amount: 90, unit: 'days' } },
        where: [{ path: ['total'], op: 'gt', value: 100 }],
      },
      refreshIntervalSeconds: 60,
    });
    expect(created.definitionText).toBe(
      'performed "Order Completed" at least 3 times within 90 days where total > 100',
    );
    expect(created.refreshIntervalSeconds).toBe(60);
    const fetched = await api(a).get(`/api/audiences/${created.id}`).expect(200);
    expect(fetched.body).toEqual(created);
  });

  it('starts the history of an audience without historical data at its creation (clock)', async () => {
    harness.clock.advance(5 * DAY);
    const created = await create(a, {
      key: 'fresh-only',
      name: 'Fresh',
      definition: 'performed "Login"',
      includeHistoricalData: false,
    });
    expect(created).toMatchObject({
      includeHistoricalData: false,
      historyStartsAt: new Date(NOW.getTime() + 5 * DAY).toISOString(),
    });
  });

  it.each([
    [
      'a text that does not parse',
      'performed "Login" within thirty days',
      'definition',
      /^line 1, col 26: expected a whole number$/,
    ],
    ['an unterminated string', 'performed "Login', 'definition', /^line 1, col \d+: /],
    [
      'a filter where a condition belongs',
      'performed "A" where plan = "Pro" and value > 100',
      'definition',
      /trait value > 100/,
    ],
    ['a second line', 'trait plan = "Pro"\nand performed', 'definition', /^line 2, col \d+: /],
  ])('refuses %s with the line and column', async (_, definition, field, reason) => {
    const response = await api(a).post('/api/audiences', { key: 'bad', name: 'Bad', definition }).expect(400);
    expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(response.body.errors).toEqual([{ field, reason: expect.stringMatching(reason) }]);
    expect(response.body.message).toBe(`definition: ${response.body.errors[0].reason}`);
  });

  it('refuses an invalid AST naming the path', async () => {
    const response = await api(a)
      .post('/api/audiences', {
        key: 'bad',
        name: 'Bad',
        definition: { type: 'performed', event: 'A', count: { op: 'at_least', value: -1 } },
      })
      .expect(400);
    expect(response.body.errors).toEqual([
      { field: 'definition.count.value', reason: expect.stringContaining('between 0 and') },
    ]);
  });

  it.each([
    ['a key that is not slug-like', { key: 'Has Spaces', name: 'x', definition: 'active within 1 day' }, 'key'],
    ['a key too long', { key: 'k'.repeat(65), name: 'x', definition: 'active within 1 day' }, 'key'],
    ['no definition', { key: 'ok', name: 'x' }, 'definition'],
    ['a definition that is a number', { key: 'ok', name: 'x', definition: 42 }, 'definition'],
    [
      'a refresh interval under a minute',
      { key: 'ok', name: 'x', definition: 'active within 1 day', refreshIntervalSeconds: 59 },
      'refreshIntervalSeconds',
    ],
    ['an unknown field', { key: 'ok', name: 'x', definition: 'active within 1 day', color: 'red' }, 'color'],
  ])('refuses %s naming the field', async (_, body, field) => {
    const response = await api(a).post('/api/audiences', body).expect(400);
    expect(response.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  });

  it('refuses a duplicate key with 409, but the same key in another workspace is fine', async () => {
    await create(a, { key: 'dup', name: 'One', definition: 'active within 7 days' });
    const response = await api(a)
      .post('/api/audiences', { key: 'dup', name: 'Two', definition: 'active within 1 day' })
      .expect(409);
    expect(response.body).toMatchObject({
      statusCode: 409,
      errors: [{ field: 'key', reason: expect.stringContaining('"dup"') }],
    });
    await create(b, { key: 'dup', name: 'In B', definition: 'active within 7 days' });
  });

  it('refuses references to unknown audiences, naming the key', async () => {
    const response = await api(a)
      .post('/api/audiences', { key: 'refs', name: 'x', definition: 'in audience "nope" or in audience "dup"' })
      .expect(400);
    expect(response.body.message).toContain('"nope"');
    expect(response.body.message).not.toContain('"dup"');
    // Keys of another workspace are unknown here.
    await create(b, { key: 'only-in-b', name: 'x', definition: 'active within 7 days' });
    const other = await api(a)
      .post('/api/audiences', { key: 'refs', name: 'x', definition: 'in audience "only-in-b"' })
      .expect(400);
    expect(other.body.message).toContain('"only-in-b"');
  });

  it('refuses self-reference and cycles, also through PATCH, naming the cycle', async () => {
    const self = await api(a)
      .post('/api/audiences', { key: 'narcissus', name: 'x', definition: 'in audience "narcissus"' })
      .expect(400);
    expect(self.body.message).toContain('"narcissus" → "narcissus"');

    const first = await create(a, { key: 'cycle-a', name: 'A', definition: 'trait plan = "Pro"' });
    await create(a, { key: 'cycle-b', name: 'B', definition: 'in audience "cycle-a" and active within 7 days' });
    await create(a, { key: 'cycle-c', name: 'C', definition: 'not in audience "cycle-b"' });
    const patched = await api(a)
      .patch(`/api/audiences/${first.id}`, { definition: 'trait plan = "Pro" or in audience "cycle-c"' })
      .expect(400);
    expect(patched.body.message).toContain('"cycle-a" → "cycle-c" → "cycle-b" → "cycle-a"');
    const selfPatch = await api(a)
      .patch(`/api/audiences/${first.id}`, { definition: 'in audience "cycle-a"' })
      .expect(400);
    expect(selfPatch.body.message).toContain('"cycle-a" → "cycle-a"');
    const unchanged = await api(a).get(`/api/audiences/${first.id}`).expect(200);
    expect(unchanged.body).toMatchObject({ version: 1, definitionText: 'trait plan = "Pro"' });
  });

  it('bumps the version on a new definition or history setting, not on a name, and enqueues per version', async () => {
    const created = await create(a, { key: 'versions', name: 'V', definition: 'active within 7 days' });
    const path = `/api/audiences/${created.id}`;

    harness.clock.advance(HOURS(1));
    const renamed = await api(a).patch(path, { name: 'Renamed' }).expect(200);
    expect(renamed.body).toMatchObject({
      name: 'Renamed',
      version: 1,
      updatedAt: new Date(NOW.getTime() + HOURS(1)).toISOString(),
    });

    const same = await api(a).patch(path, { definition: 'ACTIVE   within 7 days' }).expect(200);
    expect(same.body.version).toBe(1);

    const redefined = await api(a).patch(path, { definition: 'active within 14 days' }).expect(200);
    expect(redefined.body).toMatchObject({ version: 2, definitionText: 'active within 14 days', status: 'pending' });
    expect((await queue.getJob(`compute-${created.id}-v2`))?.data).toEqual({
      workspaceId: a.workspaceId,
      audienceId: created.id,
      reason: 'updated',
    });

    harness.clock.advance(HOURS(1));
    const noHistory = await api(a).patch(path, { includeHistoricalData: false }).expect(200);
    expect(noHistory.body).toMatchObject({
      version: 3,
      includeHistoricalData: false,
      historyStartsAt: new Date(NOW.getTime() + HOURS(2)).toISOString(),
    });
    expect(await queue.getJob(`compute-${created.id}-v3`)).toBeDefined();

    const interval = await api(a).patch(path, { refreshIntervalSeconds: 300 }).expect(200);
    expect(interval.body).toMatchObject({ version: 3, refreshIntervalSeconds: 300 });

    const history = await api(a).patch(path, { includeHistoricalData: true }).expect(200);
    expect(history.body).toMatchObject({ version: 4, includeHistoricalData: true, historyStartsAt: null });
  });

  it("answers 404 for another workspace's audience, on every route", async () => {
    const mine = await create(a, { key: 'private', name: 'Private', definition: 'active within 7 days' });
    const path = `/api/audiences/${mine.id}`;
    await api(b).get(path).expect(404);
    await api(b).patch(path, { name: 'Stolen' }).expect(404);
    await api(b).delete(path).expect(404);
    await api(b).get(`${path}/explain`).expect(404);
    await api(a).get('/api/audiences/00000000-0000-4000-8000-000000000000').expect(404);
    const listOfB = await api(b).get('/api/audiences').expect(200);
    expect((listOfB.body as { items: AudienceBody[] }).items.map((x) => x.id)).not.toContain(mine.id);
    const listOfA = await api(a).get('/api/audiences').expect(200);
    expect((listOfA.body as { items: AudienceBody[] }).items.map((x) => x.id)).toContain(mine.id);
    expect((await api(a).get(path).expect(200)).body.name).toBe('Private');
  });

  it('refuses to delete an audience others refer to, naming them; deletes it once they are gone', async () => {
    const base = await create(a, { key: 'base', name: 'Base', definition: 'active within 7 days' });
    const user1 = await create(a, { key: 'user-1', name: 'U1', definition: 'in audience "base"' });
    await create(a, { key: 'user-2', name: 'U2', definition: 'not in audience "base" and trait x exists' });
    const refused = await api(a).delete(`/api/audiences/${base.id}`).expect(409);
    expect(refused.body).toMatchObject({ statusCode: 409, referencedBy: ['user-1', 'user-2'] });
    expect(refused.body.message).toContain('"user-1", "user-2"');

    await api(a).delete(`/api/audiences/${user1.id}`).expect(204);
    expect((await queue.getJob(`compute-${user1.id}-deleted`))?.data).toEqual({
      workspaceId: a.workspaceId,
      audienceId: user1.id,
      reason: 'deleted',
    });
    await api(a).get(`/api/audiences/${user1.id}`).expect(404);
    await api(a).delete(`/api/audiences/${base.id}`).expect(409);
  });

  it('previews without saving and shows the bound SQL', async () => {
    const before = ((await api(b).get('/api/audiences').expect(200)).body as { items: AudienceBody[] }).items;
    const response = await api(b)
      .post('/api/audiences/preview', { definition: 'trait plan = "Robert\'); DROP TABLE events;--"' })
      .expect(200);
    expect(response.body).toEqual({
      count: 0,
      sample: [],
      sql: expect.stringContaining('$1'),
      params: expect.any(Array),
    });
    expect(response.body.sql).not.toContain('DROP TABLE');
    expect(response.body.params).toEqual(expect.arrayContaining([b.workspaceId, "Robert'); DROP TABLE events;--"]));
    expect((await api(b).get('/api/audiences').expect(200)).body.items).toHaveLength(before.length);
    await api(b).post('/api/audiences/preview', { definition: 'in audience "ghost"' }).expect(400);
    await api(b).post('/api/audiences/preview', { definition: 'performed' }).expect(400);
  });

  it('explains the count query of a saved audience', async () => {
    const created = await create(a, {
      key: 'explained',
      name: 'E',
      definition: 'never performed "Tutorial Viewed" and inactive 30 days',
      includeHistoricalData: false,
    });
    const response = await api(a).get(`/api/audiences/${created.id}/explain`).expect(200);
    expect(response.body.sql).toMatch(/^SELECT count\(\*\)/);
    expect(response.body.params).toEqual(expect.arrayContaining([a.workspaceId, 'Tutorial Viewed', NOW.toISOString()]));
    expect(response.body.plan).toEqual([
      expect.objectContaining({ Plan: expect.objectContaining({ 'Node Type': expect.any(String) }) }),
    ]);
  });
});

function HOURS(n: number): number {
  return n * 3_600_000;
}
