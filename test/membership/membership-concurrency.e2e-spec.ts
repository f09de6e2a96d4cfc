import { createPersonae, Personae } from '../../src/app.factory';
import { ManualClock } from '../../src/common/clock';
import { loadConfig } from '../../src/config/app-config';
import { MembershipService } from '../../src/membership/membership.service';
import { createWorkspace, startTestApp, TestApp, testEnvironment, WorkspaceCredentials } from '../support/app';
import { runTs } from '../support/processes';
import { waitFor } from '../support/wait-for';
import { TestSql } from '../tracking/tracking-support';
import { ledgerProblems, MembershipFixtures } from './membership-support';

const PROFILES = 20_000;

/** Many profiles at once, a third of them on the Pro plan. */
async function seedProfiles(sql: TestSql, workspaceId: string, count: number): Promise<void> {
  await sql.rows(
    `INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
     SELECT gen_random_uuid(), $1, jsonb_build_object('plan', CASE WHEN i % 3 = 0 THEN 'Pro' ELSE 'Free' END, 'n', i),
            now(), now()
     FROM generate_series(1, $2::int) AS i`,
    [workspaceId, count],
  );
}

/** Moves every fifth profile to the other plan, so the next computation has work to do. */
async function shuffle(sql: TestSql, workspaceId: string): Promise<void> {
  await sql.rows(
    `UPDATE profiles SET traits = jsonb_set(traits, '{plan}',
       CASE WHEN traits->>'plan' = 'Pro' THEN '"Free"'::jsonb ELSE '"Pro"'::jsonb END)
     WHERE workspace_id = $1 AND (traits->>'n')::int % 5 = 0`,
    [workspaceId],
  );
}

async function expectMembersAreTarget(sql: TestSql, workspaceId: string, audienceId: string): Promise<void> {
  const [diff] = await sql.rows<{ missing: number; extra: number }>(
    `WITH target AS (SELECT id FROM profiles WHERE workspace_id = $1 AND traits->>'plan' = 'Pro'),
          members AS (SELECT profile_id AS id FROM audience_members WHERE audience_id = $2)
     SELECT (SELECT count(*)::int FROM target WHERE id NOT IN (SELECT id FROM members)) AS missing,
            (SELECT count(*)::int FROM members WHERE id NOT IN (SELECT id FROM target)) AS extra`,
    [workspaceId, audienceId],
  );
  expect(diff).toEqual({ missing: 0, extra: 0 });
  expect(await ledgerProblems(sql, audienceId)).toEqual([]);
}

describe('membership under concurrency', () => {
  describe('in one process', () => {
    let app: TestApp;
    let sql: TestSql;

    beforeAll(async () => {
      app = await startTestApp({}, { clock: new ManualClock('2026-06-01T00:00:00Z') });
      sql = await TestSql.connect(app);
    });

    afterAll(async () => {
      await sql.close();
      await app.close();
    });

    it('concurrent full computations and evaluations give the same result as one computation', async () => {
      const ws = await createWorkspace(app);
      const f = new MembershipFixtures(sql, ws.workspaceId, ws.sourceId);
      await seedProfiles(sql, ws.workspaceId, PROFILES);
      const audience = await f.audience('pro', 'trait plan = "Pro"');
      const engine = app.personae.app.get(MembershipService);
      const job = { workspaceId: ws.workspaceId, audienceId: audience, reason: 'scheduled' as const };
      await engine.compute(job);
      await expectMembersAreTarget(sql, ws.workspaceId, audience);

      await shuffle(sql, ws.workspaceId);
      const some = await sql.rows<{ id: string }>(
        `SELECT id FROM profiles WHERE workspace_id = $1 AND (traits->>'n')::int % 5 = 0 LIMIT 50`,
        [ws.workspaceId],
      );
      const outcomes = await Promise.all([
        engine.compute(job),
        engine.evaluateProfiles(
          ws.workspaceId,
          some.map((r) => r.id),
        ),
        engine.compute(job),
        engine.compute(job),
      ]);
      // Exactly one of the racers found the changes; the others found nothing left to do.
      const computed = [outcomes[0], outcomes[2], outcomes[3]].map((o) =>
        o.kind === 'computed' ? o.entered + o.exited : 0,
      );
      const evaluated = outcomes[1] as { entered: number; exited: number };
      expect(computed.reduce((a, b) => a + b, 0) + evaluated.entered + evaluated.exited).toBe(PROFILES / 5);
      await expectMembersAreTarget(sql, ws.workspaceId, audience);
      const [duplicates] = await sql.rows<{ n: number }>(
        `SELECT count(*)::int AS n FROM (
           SELECT profile_id, kind, audience_version FROM audience_transitions WHERE audience_id = $1
           GROUP BY 1, 2, 3 HAVING count(*) > 1) d`,
        [audience],
      );
      expect(duplicates!.n).toBe(0);
    });
  });

  describe('with a worker killed mid-computation', () => {
    let app: TestApp;
    let sql: TestSql;
    let blocker: TestSql;
    let rescuer: Personae | undefined;

    beforeAll(async () => {
      // This process serves HTTP only; the computations run in worker processes.
      app = await startTestApp({ ROLE: 'api' });
      sql = await TestSql.connect(app);
      blocker = await TestSql.connect(app);
    });

    afterAll(async () => {
      await rescuer?.close();
      await blocker.close();
      await sql.close();
      await app.close();
    });

    function workerEnvironment(): Record<string, string> {
      return testEnvironment(app.database, { ROLE: 'worker', QUEUE_PREFIX: app.config.QUEUE_PREFIX });
    }

    async function requestCompute(ws: WorkspaceCredentials, audienceId: string): Promise<void> {
      await app
        .http()
        .post(`/api/audiences/${audienceId}/compute`)
        .set('authorization', `Bearer ${ws.apiToken}`)
        .expect(202);
    }

    it('leaves the previous membership intact, and the retried job completes it', async () => {
      const ws = await createWorkspace(app);
      const f = new MembershipFixtures(sql, ws.workspaceId, ws.sourceId);
      await seedProfiles(sql, ws.workspaceId, PROFILES);
      const audience = await f.audience('pro', 'trait plan = "Pro"');

      const worker = runTs('src/main.ts', [], workerEnvironment());
      await waitFor(() => worker.stdout.includes('processing jobs'), { what: 'worker start-up', timeoutMs: 60_000 });
      await requestCompute(ws, audience);
      await waitFor(async () => (await f.audienceRow(audience)).status === 'ready', { what: 'first computation' });
      const before = await f.members(audience);
      const transitionsBefore = (await f.transitions(audience)).length;
      expect(before).toHaveLength(Math.floor(PROFILES / 3));

      // Hold the ledger so the next computation stops inside its transaction, then kill its worker.
      await shuffle(sql, ws.workspaceId);
      await blocker.rows('BEGIN');
      await blocker.rows('LOCK TABLE audience_transitions IN EXCLUSIVE MODE');
      await requestCompute(ws, audience);
      await waitFor(
        async () =>
          (await sql.count(
            `SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%audience_transitions%'`,
          )) > 0,
        { what: 'computation to block on the ledger' },
      );
      worker.kill('SIGKILL');
      expect((await worker.finished).signal).toBe('SIGKILL');
      await blocker.rows('COMMIT');
      await waitFor(
        async () =>
          (await sql.count(
            `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
             WHERE l.locktype = 'advisory' AND d.datname = current_database()`,
          )) === 0,
        {
          what: 'the killed transaction to end',
        },
      );

      expect(await f.members(audience)).toEqual(before);
      expect(await f.transitions(audience)).toHaveLength(transitionsBefore);
      expect(await ledgerProblems(sql, audience)).toEqual([]);

      // Another worker takes over the stalled job once its lock expires and finishes the work.
      rescuer = await createPersonae(loadConfig(workerEnvironment()));
      await waitFor(
        async () => {
          const row = await f.audienceRow(audience);
          return row.status === 'ready' && (await f.members(audience)).length !== before.length;
        },
        { what: 'the retried computation', timeoutMs: 45_000 },
      );
      await expectMembersAreTarget(sql, ws.workspaceId, audience);
    }, 120_000);
  });
});
