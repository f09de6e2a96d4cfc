import { createWorkspace, startTestApp, TestApp, testEnvironment } from '../support/app';
import { Running, runTs } from '../support/processes';
import { waitFor } from '../support/wait-for';
import { basicAuth, TestSql } from '../tracking/tracking-support';
import { ledgerProblems, MembershipFixtures } from './membership-support';

const PROFILES = 400;
const BATCH = 100;
/** Profiles to an outbox row: a batch takes whole rows, so it goes past BATCH by less than a row. */
const PER_ROW = 7;
/** MembershipRepository's advisory lock class ("memb"); an audience's key is hashtext(id). */
const AUDIENCE_LOCK_CLASS = 0x6d656d62;

/**
 * A worker process is SIGKILLed in the middle of a batch — one audience of the batch committed,
 * the next one waiting for its lock — and another worker takes over: every profile ends up in
 * every audience it qualifies for, with exactly one `entered` transition each.
 */
describe('a real-time evaluation worker killed mid-batch', () => {
  let app: TestApp;
  let sql: TestSql;
  let blocker: TestSql;
  const workers: Running[] = [];

  beforeAll(async () => {
    // This process serves HTTP only: the outbox rows stay until a worker process takes them.
    app = await startTestApp({ ROLE: 'api' });
    sql = await TestSql.connect(app);
    blocker = await TestSql.connect(app);
  });

  afterAll(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.finished));
    await blocker.close();
    await sql.close();
    await app.close();
  });

  function startWorker(): Running {
    const env = testEnvironment(app.database, {
      ROLE: 'worker',
      QUEUE_PREFIX: app.config.QUEUE_PREFIX,
      LOG_LEVEL: 'warn',
      EVALUATION_BATCH_SIZE: String(BATCH),
      EVALUATION_LEASE_MS: '2000',
    });
    const worker = runTs('src/main.ts', [], env);
    workers.push(worker);
    return worker;
  }

  const entered = (audienceId: string) =>
    sql.count(`SELECT count(*) FROM audience_transitions WHERE audience_id = $1 AND kind = 'entered'`, [audienceId]);

  it('/v1/import queues its changes in the bulk lane, /v1/batch in the live lane', async () => {
    const ws = await createWorkspace(app);
    const send = (path: string, userId: string) =>
      app
        .http()
        .post(path)
        .set('authorization', basicAuth(ws.writeKey))
        .send({ batch: [{ type: 'track', event: 'Signed Up', userId, timestamp: '2026-01-05T10:00:00Z' }] })
        .expect(200);
    await send('/v1/import', 'historic');
    await send('/v1/batch', 'current');
    // A row per request, listing its one person.
    const lanes = await sql.rows<{ value: string; lane: string; profiles: number }>(
      `SELECT i.value, c.lane::text, cardinality(c.profile_ids) AS profiles
       FROM profile_changes c JOIN identities i ON i.profile_id = ANY(c.profile_ids)
       WHERE c.workspace_id = $1 ORDER BY i.value`,
      [ws.workspaceId],
    );
    expect(lanes).toEqual([
      { value: 'current', lane: 'live', profiles: 1 },
      { value: 'historic', lane: 'bulk', profiles: 1 },
    ]);
    expect(await sql.count('SELECT count(*) FROM events WHERE workspace_id = $1', [ws.workspaceId])).toBe(2);
  });

  it('loses nothing and doubles nothing', async () => {
    const ws = await createWorkspace(app);
    const f = new MembershipFixtures(sql, ws.workspaceId, ws.sourceId);
    const pro = await f.audience('a-pro', 'trait plan = "Pro"');
    const dependent = await f.audience('b-pro-too', 'in audience "a-pro"');
    // Computed already (while empty): a worker starting up queues no full computation of them.
    await sql.rows(`UPDATE audiences SET status = 'ready', last_computed_at = now() WHERE workspace_id = $1`, [
      ws.workspaceId,
    ]);
    await sql.rows(
      `WITH made AS (
         INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
         SELECT gen_random_uuid(), $1, '{"plan":"Pro"}', now(), now() FROM generate_series(1, $2::int)
         RETURNING id)
       INSERT INTO profile_changes (workspace_id, profile_ids)
       SELECT $1, array_agg(id) FROM (SELECT id, row_number() OVER () - 1 AS n FROM made) m GROUP BY n / $3::int`,
      [ws.workspaceId, PROFILES, PER_ROW],
    );

    // The dependent audience's lock is taken: the first batch claims its outbox rows and waits for
    // the locks of both audiences inside its transaction.
    await blocker.rows('SELECT pg_advisory_lock($1::int, hashtext($2))', [AUDIENCE_LOCK_CLASS, dependent]);
    const first = startWorker();
    await waitFor(
      async () =>
        (await sql.count(
          `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
           WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()`,
        )) > 0,
      { what: 'a batch to wait for the dependent audience', timeoutMs: 90_000 },
    );
    first.kill('SIGKILL');
    expect((await first.finished).signal).toBe('SIGKILL');
    await blocker.rows('SELECT pg_advisory_unlock($1::int, hashtext($2))', [AUDIENCE_LOCK_CLASS, dependent]);

    // Mid-batch: its transaction died with it, its rows (a batch's worth of profiles at least) stay
    // claimed until the lease runs out.
    expect(await entered(pro)).toBeLessThan(PROFILES);
    expect(await entered(dependent)).toBe(0);
    expect(
      await sql.count(
        `SELECT COALESCE(sum(cardinality(profile_ids)), 0) AS count FROM profile_changes
         WHERE workspace_id = $1 AND claimed_until IS NOT NULL`,
        [ws.workspaceId],
      ),
    ).toBeGreaterThanOrEqual(BATCH);

    startWorker();
    await waitFor(
      async () =>
        (await sql.count('SELECT count(*) FROM profile_changes WHERE workspace_id = $1', [ws.workspaceId])) === 0 &&
        (await f.members(dependent)).length === PROFILES,
      { what: 'the other worker to finish the work', timeoutMs: 120_000, intervalMs: 250 },
    );
    expect(await f.members(pro)).toHaveLength(PROFILES);
    for (const audienceId of [pro, dependent]) {
      expect(await entered(audienceId)).toBe(PROFILES);
      expect(await sql.count('SELECT count(*) FROM audience_transitions WHERE audience_id = $1', [audienceId])).toBe(
        PROFILES,
      );
      expect(await ledgerProblems(sql, audienceId)).toEqual([]);
    }
  }, 300_000);
});
