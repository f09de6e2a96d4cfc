import { QueueName } from '../../src/queues/queue-names';
import { createWorkspace, startTestApp, TestApp, waitForQueues, WorkspaceCredentials } from '../support/app';
import { PrivateRedis } from '../support/redis-server';
import { waitFor } from '../support/wait-for';
import { basicAuth, profileOf, TestSql } from '../tracking/tracking-support';
import { MembershipFixtures, queue } from './membership-support';

async function createAudience(
  app: TestApp,
  ws: WorkspaceCredentials,
  key: string,
  definition: string,
): Promise<string> {
  const response = await app
    .http()
    .post('/api/audiences')
    .set('authorization', `Bearer ${ws.apiToken}`)
    .send({ key, name: key, definition })
    .expect(201);
  return response.body.id as string;
}

describe('real-time membership', () => {
  describe('through the tracking API', () => {
    let app: TestApp;
    let sql: TestSql;

    beforeAll(async () => {
      app = await startTestApp();
      sql = await TestSql.connect(app);
    });

    afterAll(async () => {
      await sql.close();
      await app.close();
    });

    it('an event that makes a profile qualify produces its entered transition without a recompute', async () => {
      const ws = await createWorkspace(app);
      const f = new MembershipFixtures(sql, ws.workspaceId, ws.sourceId);
      const audience = await createAudience(app, ws, 'buyers', 'performed "Order Completed"');
      await waitFor(async () => (await f.audienceRow(audience)).status === 'ready', { what: 'first computation' });

      await app
        .http()
        .post('/v1/track')
        .set('authorization', basicAuth(ws.writeKey))
        .send({ userId: 'u-1', event: 'Order Completed', properties: { total: 42 } })
        .expect(200);
      const [entered] = await waitFor(
        async () => {
          const rows = await sql.rows<{ profile_id: string; at: Date }>(
            `SELECT profile_id, at FROM audience_transitions WHERE audience_id = $1 AND kind = 'entered'`,
            [audience],
          );
          return rows.length > 0 ? rows : undefined;
        },
        { what: 'entered transition', intervalMs: 10 },
      );
      expect(entered!.profile_id).toBe(await profileOf(sql, ws.workspaceId, 'user_id', 'u-1'));
    });

    it('a burst of events for one profile is evaluated in a batch or two, not once per event', async () => {
      const ws = await createWorkspace(app);
      const f = new MembershipFixtures(sql, ws.workspaceId, ws.sourceId);
      const audience = await createAudience(app, ws, 'frequent', 'performed "Page Read" at least 20 times');
      await waitFor(async () => (await f.audienceRow(audience)).status === 'ready', { what: 'first computation' });

      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          app
            .http()
            .post('/v1/track')
            .set('authorization', basicAuth(ws.writeKey))
            .send({ userId: 'reader', event: 'Page Read', messageId: `read-${i}` })
            .expect(200),
        ),
      );
      await waitFor(async () => (await f.members(audience)).length === 1, { what: 'reader to enter' });
      await waitFor(
        async () =>
          (await sql.count('SELECT count(*) FROM profile_changes WHERE workspace_id = $1', [ws.workspaceId])) === 0,
        { what: 'outbox drained' },
      );
      const jobs = (await queue(app, QueueName.Evaluate).getJobs(['completed'])).filter(
        (job) => (job.data as { workspaceId: string }).workspaceId === ws.workspaceId,
      );
      const outcomes = jobs.map((job) => job.returnvalue as { changes?: number; profiles?: number });
      const evaluated = outcomes.reduce((n, outcome) => n + (outcome.profiles ?? 0), 0);
      expect(evaluated).toBeGreaterThanOrEqual(1);
      expect(evaluated).toBeLessThan(20);
      // An outbox row per request, each taken (and deleted) once.
      expect(outcomes.reduce((n, outcome) => n + (outcome.changes ?? 0), 0)).toBe(20);
      expect(await f.transitions(audience)).toHaveLength(1);
    });
    it('still evaluates a job queued, one per profile, by a version before batches', async () => {
      const ws = await createWorkspace(app);
      const f = new MembershipFixtures(sql, ws.workspaceId, ws.sourceId);
      const profile = await f.profile({ traits: { plan: 'Pro' } });
      const audience = await f.audience('legacy-pro', 'trait plan = "Pro"');
      // That version deleted the outbox row when it queued the job: only the job knows.
      await queue(app, QueueName.Evaluate).add('evaluate', { workspaceId: ws.workspaceId, profileId: profile });
      await waitFor(async () => (await f.members(audience)).length === 1, { what: 'the legacy job to be evaluated' });
      expect(await f.transitions(audience)).toEqual([{ profile_id: profile, kind: 'entered', audience_version: 1 }]);
    });
  });

  describe('when Redis is down', () => {
    let redis: PrivateRedis;
    let app: TestApp;
    let sql: TestSql;

    beforeAll(async () => {
      redis = await PrivateRedis.start();
      app = await startTestApp({ REDIS_URL: redis.url });
      sql = await TestSql.connect(app);
    });

    afterAll(async () => {
      await sql.close();
      await app.close();
      await redis.stop();
    });

    it('the relay keeps outbox rows in Postgres and relays them once Redis is back', async () => {
      const ws = await createWorkspace(app);
      const f = new MembershipFixtures(sql, ws.workspaceId, ws.sourceId);
      const profile = await f.profile({ traits: { plan: 'Pro' } });
      const audience = await f.audience('pro', 'trait plan = "Pro"');

      await redis.stop();
      await f.changed(profile);
      // Long enough for several relay attempts, each of which must give its batch back.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await sql.rows('SELECT profile_ids FROM profile_changes')).toEqual([{ profile_ids: [profile] }]);

      await redis.start();
      await waitForQueues(app);
      await waitFor(async () => (await f.members(audience)).length === 1, {
        what: 'evaluation after Redis is back',
        timeoutMs: 30_000,
      });
      // The batch deletes its rows once its evaluation has committed.
      await waitFor(async () => (await sql.count('SELECT count(*) FROM profile_changes')) === 0, {
        what: 'the outbox row to be deleted',
      });
    });
  });
});
