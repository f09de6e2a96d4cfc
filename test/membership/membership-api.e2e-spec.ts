import { Queue } from 'bullmq';

import { ManualClock } from '../../src/common/clock';
import { AudienceSchedulesService } from '../../src/membership/audience-schedules.service';
import { ComputeOutcome } from '../../src/membership/membership.service';
import { bullOptions } from '../../src/queues/queue-connection';
import { deliveryQueueName, QueueName } from '../../src/queues/queue-names';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { waitFor } from '../support/wait-for';
import { TestSql } from '../tracking/tracking-support';
import { DAY, finished, ledgerProblems, MembershipFixtures, queue } from './membership-support';

const START = new Date('2026-06-01T12:00:00.000Z');

describe('membership API, schedules and deliveries', () => {
  let app: TestApp;
  let sql: TestSql;
  let clock: ManualClock;

  beforeAll(async () => {
    clock = new ManualClock(START);
    app = await startTestApp({}, { clock });
    sql = await TestSql.connect(app);
  });

  afterAll(async () => {
    await sql.close();
    await app.close();
  });

  async function setUp(): Promise<{ f: MembershipFixtures; ws: WorkspaceCredentials }> {
    const ws = await createWorkspace(app);
    return { f: new MembershipFixtures(sql, ws.workspaceId, ws.sourceId), ws };
  }

  function api(ws: WorkspaceCredentials) {
    const auth = `Bearer ${ws.apiToken}`;
    return {
      get: (path: string) => app.http().get(path).set('authorization', auth),
      post: (path: string) => app.http().post(path).set('authorization', auth),
      delete: (path: string) => app.http().delete(path).set('authorization', auth),
    };
  }

  async function computeNow(ws: WorkspaceCredentials, audienceId: string): Promise<ComputeOutcome> {
    const response = await api(ws).post(`/api/audiences/${audienceId}/compute`).expect(202);
    expect(response.body).toEqual({ status: 'queued', jobId: expect.stringMatching(/^compute-[^:]+-manual-\d+$/) });
    return finished<ComputeOutcome>(app, QueueName.Compute, response.body.jobId);
  }

  it('computes on demand and pages through members and transitions', async () => {
    const { f, ws } = await setUp();
    const profiles: string[] = [];
    for (let i = 0; i < 5; i += 1) profiles.push(await f.profile({ traits: { plan: i < 3 ? 'Pro' : 'Free' } }));
    const audience = await f.audience('pro', 'trait plan = "Pro"');

    expect(await computeNow(ws, audience)).toMatchObject({ kind: 'computed', entered: 3, memberCount: 3 });
    expect(await f.audienceRow(audience)).toMatchObject({ status: 'ready', member_count: 3 });

    const first = await api(ws).get(`/api/audiences/${audience}/members?limit=2`).expect(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.items[0]).toEqual({ profileId: expect.any(String), enteredAt: START.toISOString() });
    const second = await api(ws)
      .get(`/api/audiences/${audience}/members?limit=2&cursor=${first.body.nextCursor}`)
      .expect(200);
    expect(second.body.items).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    const listed = [...first.body.items, ...second.body.items].map((i: { profileId: string }) => i.profileId);
    expect(listed.sort()).toEqual(profiles.slice(0, 3).sort());

    await sql.rows(`UPDATE profiles SET traits = '{"plan":"Free"}' WHERE id = $1`, [profiles[0]]);
    clock.advance(1000);
    expect(await computeNow(ws, audience)).toMatchObject({ entered: 0, exited: 1, memberCount: 2 });
    clock.set(START);

    const all = await api(ws).get(`/api/audiences/${audience}/transitions?limit=3`).expect(200);
    expect(all.body.items).toHaveLength(3);
    const rest = await api(ws)
      .get(`/api/audiences/${audience}/transitions?limit=3&cursor=${all.body.nextCursor}`)
      .expect(200);
    expect(rest.body.items).toEqual([
      {
        id: expect.stringMatching(/^\d+$/),
        profileId: profiles[0],
        kind: 'exited',
        at: new Date(START.getTime() + 1000).toISOString(),
        audienceVersion: 1,
      },
    ]);
    const mine = await api(ws).get(`/api/audiences/${audience}/transitions?profileId=${profiles[0]}`).expect(200);
    const kinds = (mine.body.items as { kind: string }[]).map((t) => t.kind);
    expect(kinds).toEqual(['entered', 'exited']);
    expect(mine.body.nextCursor).toBeNull();
  });

  it('answers 404 for another workspace’s audience and 400 for a bad cursor', async () => {
    const { f } = await setUp();
    const stranger = (await setUp()).ws;
    const audience = await f.audience('private', 'trait plan = "Pro"');
    await api(stranger).get(`/api/audiences/${audience}/members`).expect(404);
    await api(stranger).get(`/api/audiences/${audience}/transitions`).expect(404);
    await api(stranger).post(`/api/audiences/${audience}/compute`).expect(404);
    const bad = await api(stranger).get(`/api/audiences/${audience}/members?cursor=bm90LWEtY3Vyc29y`).expect(400);
    expect(bad.body.message).toMatch(/cursor/);
    await api(stranger).get('/api/audiences/not-a-uuid/members').expect(400);
    await app.http().get(`/api/audiences/${audience}/members`).expect(401);
  });

  it('keeps a created audience current: computing, ready, and a refresh schedule', async () => {
    const { f, ws } = await setUp();
    await f.profile({ traits: { plan: 'Pro' } });
    const created = await api(ws)
      .post('/api/audiences')
      .send({ key: 'pros', name: 'Pros', definition: 'trait plan = "Pro"', refreshIntervalSeconds: 600 })
      .expect(201);
    const id = created.body.id as string;
    await waitFor(async () => (await f.audienceRow(id)).status === 'ready', { what: 'first computation' });
    expect(await f.audienceRow(id)).toMatchObject({ member_count: 1, last_computed_at: START });
    const scheduler = await waitFor(() => queue(app, QueueName.Compute).getJobScheduler(`refresh-${id}`), {
      what: 'refresh scheduler',
    });
    expect(scheduler).toMatchObject({ every: 600_000, template: { data: { audienceId: id, reason: 'scheduled' } } });

    await api(ws)
      .delete(`/api/audiences/${id}`)
      .expect((r) => expect([200, 204]).toContain(r.status));
    await waitFor(async () => (await queue(app, QueueName.Compute).getJobScheduler(`refresh-${id}`)) === undefined, {
      what: 'scheduler removal',
    });
  });

  it('refreshes on schedule: time passing moves people out with no event and no request', async () => {
    const { f } = await setUp();
    const profile = await f.profile();
    await f.event(profile, 'Login', new Date(START.getTime() - DAY));
    const audience = await f.audience('weekly', 'performed "Login" within 7 days', { refreshIntervalSeconds: 1 });
    const schedules = app.personae.app.get(AudienceSchedulesService);
    await schedules.upsert({ id: audience, workspaceId: f.workspaceId, refreshIntervalSeconds: 1 });
    await waitFor(async () => (await f.members(audience)).length === 1, { what: 'scheduled entry' });

    clock.advance(7 * DAY);
    await waitFor(async () => (await f.members(audience)).length === 0, { what: 'scheduled exit' });
    expect((await f.transitions(audience)).map((t) => t.kind)).toEqual(['entered', 'exited']);
    expect(await f.audienceRow(audience)).toMatchObject({ status: 'ready', member_count: 0 });
    await schedules.remove(audience);
    clock.set(START);
  });

  it('reconciles schedules with Postgres at start: orphans removed, lost computations requeued', async () => {
    const { f } = await setUp();
    await f.profile({ traits: { plan: 'Pro' } });
    const pending = await f.audience('never-computed', 'trait plan = "Pro"');
    const schedules = app.personae.app.get(AudienceSchedulesService);
    await schedules.upsert({
      id: '00000000-0000-4000-8000-000000000000',
      workspaceId: f.workspaceId,
      refreshIntervalSeconds: 60,
    });

    const result = await schedules.reconcile();
    expect(result.removed).toBe(1);
    expect(result.requeued).toBeGreaterThanOrEqual(1);
    expect(
      await queue(app, QueueName.Compute).getJobScheduler('refresh-00000000-0000-4000-8000-000000000000'),
    ).toBeUndefined();
    expect(await queue(app, QueueName.Compute).getJobScheduler(`refresh-${pending}`)).toMatchObject({
      every: 3_600_000,
    });
    await waitFor(async () => (await f.audienceRow(pending)).status === 'ready', { what: 'requeued computation' });
    expect(await f.members(pending)).toHaveLength(1);
  });

  it('records an audience whose definition cannot be compiled as failed, with the reason', async () => {
    const { f, ws } = await setUp();
    const audience = await f.audience('broken', 'trait plan = "Pro"');
    await sql.rows(`UPDATE audiences SET definition_ast = '{"type":"nonsense"}', version = version + 1 WHERE id = $1`, [
      audience,
    ]);
    await api(ws).post(`/api/audiences/${audience}/compute`).expect(202);
    await waitFor(async () => (await f.audienceRow(audience)).status === 'failed', { what: 'failed status' });
    expect((await f.audienceRow(audience)).status_reason).toMatch(/definition/);
  });

  it('creates one delivery per transition and connected destination, and queues it', async () => {
    const { f, ws } = await setUp();
    const profile = await f.profile({ traits: { plan: 'Pro' } });
    const audience = await f.audience('synced', 'trait plan = "Pro"');
    const destinations: string[] = [];
    for (const send of ['entered', 'exited', 'both']) {
      const [row] = await sql.rows<{ id: string }>(
        `INSERT INTO destinations (id, workspace_id, type, name, config, updated_at)
         VALUES (gen_random_uuid(), $1, 'webhook', $2, '{}', now()) RETURNING id`,
        [ws.workspaceId, send],
      );
      destinations.push(row!.id);
      await sql.rows(
        `INSERT INTO audience_destinations (id, audience_id, destination_id, send, connected_at)
         VALUES (gen_random_uuid(), $1, $2, $3, $4)`,
        [audience, row!.id, send, new Date(START.getTime() - DAY).toISOString()],
      );
    }
    expect(await computeNow(ws, audience)).toMatchObject({ entered: 1, deliveries: 2 });
    await sql.rows(`UPDATE profiles SET traits = '{}' WHERE id = $1`, [profile]);
    clock.advance(1000);
    expect(await computeNow(ws, audience)).toMatchObject({ exited: 1, deliveries: 2 });
    clock.set(START);

    const rows = await sql.rows<{ destination_id: string; kind: string; id: string }>(
      `SELECT d.id, d.destination_id, t.kind::text FROM deliveries d JOIN audience_transitions t ON t.id = d.transition_id
       WHERE t.audience_id = $1 ORDER BY t.id, d.destination_id`,
      [audience],
    );
    const byDestination = (i: number) => rows.filter((r) => r.destination_id === destinations[i]).map((r) => r.kind);
    expect(byDestination(0)).toEqual(['entered']);
    expect(byDestination(1)).toEqual(['exited']);
    expect(byDestination(2)).toEqual(['entered', 'exited']);
    for (const row of rows) {
      const deliver = new Queue(deliveryQueueName(row.destination_id), bullOptions(app.config));
      try {
        expect(await deliver.getJob(row.id)).toMatchObject({ name: 'deliver', data: { deliveryId: row.id } });
      } finally {
        await deliver.close();
      }
    }
    expect(await ledgerProblems(sql, audience)).toEqual([]);
  });
});
