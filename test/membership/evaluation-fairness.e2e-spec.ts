import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { waitFor } from '../support/wait-for';
import { basicAuth, profileOf, TestSql } from '../tracking/tracking-support';
import { MembershipFixtures } from './membership-support';

const BATCH = 50;
const BACKLOG = 3_000;
/** Profiles to a backlog's outbox row; a divisor of BATCH, so that every batch holds BATCH profiles exactly. */
const PER_ROW = 10;

/**
 * Fairness of real-time evaluation, with one evaluation slot so that order is all there is: a
 * probe in another workspace — or a live event in a workspace busy with an import — is evaluated
 * after at most the batch in flight, not after the backlog.
 */
describe('fair real-time evaluation', () => {
  let app: TestApp;
  let sql: TestSql;

  beforeAll(async () => {
    app = await startTestApp({ EVALUATION_BATCH_SIZE: String(BATCH), EVALUATE_CONCURRENCY: '1' });
    sql = await TestSql.connect(app);
  });

  afterAll(async () => {
    await sql.close();
    await app.close();
  });

  async function workspace(definitions: [string, string][]): Promise<{ ws: WorkspaceCredentials; ids: string[] }> {
    const ws = await createWorkspace(app);
    const f = new MembershipFixtures(sql, ws.workspaceId, ws.sourceId);
    const ids: string[] = [];
    for (const [key, definition] of definitions) ids.push(await f.audience(key, definition));
    // Computed already (while empty): only real-time evaluation has work to do.
    await sql.rows(`UPDATE audiences SET status = 'ready', last_computed_at = now() WHERE workspace_id = $1`, [
      ws.workspaceId,
    ]);
    return { ws, ids };
  }

  /** Profiles on the Pro plan in outbox rows of PER_ROW, in the given lane: a backlog. */
  async function backlog(workspaceId: string, lane: 'live' | 'bulk'): Promise<void> {
    await sql.rows(
      `WITH made AS (
         INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
         SELECT gen_random_uuid(), $1, '{"plan":"Pro"}', now(), now() FROM generate_series(1, $2::int)
         RETURNING id)
       INSERT INTO profile_changes (workspace_id, profile_ids, lane)
       SELECT $1, array_agg(id), $3::change_lane FROM (SELECT id, row_number() OVER () - 1 AS n FROM made) m
       GROUP BY n / $4::int`,
      [workspaceId, BACKLOG, lane, PER_ROW],
    );
  }

  const transitionsOf = (workspaceId: string, beforeId?: string) =>
    sql.count(
      `SELECT count(*) FROM audience_transitions WHERE workspace_id = $1 AND ($2::bigint IS NULL OR id < $2::bigint)`,
      [workspaceId, beforeId ?? null],
    );

  /**
   * Sends a qualifying identify and waits for its entered transition; answers the transition id
   * and how many transitions `countedIn` had once the identify was accepted (its change committed):
   * what was evaluated from then on before it is what fairness bounds, however long the request took.
   */
  async function probe(
    ws: WorkspaceCredentials,
    audienceId: string,
    userId: string,
    countedIn: string,
  ): Promise<{ transitionId: string; accepted: number }> {
    await app
      .http()
      .post('/v1/identify')
      .set('authorization', basicAuth(ws.writeKey))
      .send({ userId, traits: { plan: 'Pro' } })
      .expect(200);
    const accepted = await transitionsOf(countedIn);
    const profileId = await profileOf(sql, ws.workspaceId, 'user_id', userId);
    const [row] = await waitFor(
      async () => {
        const rows = await sql.rows<{ id: string }>(
          `SELECT id::text FROM audience_transitions WHERE audience_id = $1 AND profile_id = $2 AND kind = 'entered'`,
          [audienceId, profileId],
        );
        return rows.length > 0 ? rows : undefined;
      },
      { what: `${userId} to enter`, timeoutMs: 60_000, intervalMs: 20 },
    );
    return { transitionId: row!.id, accepted };
  }

  it("evaluates another workspace's event after at most one batch of a backlog", async () => {
    const heavy = await workspace([
      ['pro', 'trait plan = "Pro"'],
      ['pro-new', 'trait plan = "Pro" and first seen within 30 days'],
      ['pro-too', 'in audience "pro"'],
    ]);
    const light = await workspace([['pro', 'trait plan = "Pro"']]);
    await backlog(heavy.ws.workspaceId, 'live');
    await waitFor(async () => (await transitionsOf(heavy.ws.workspaceId)) > 0, { what: 'the backlog to start' });

    const { transitionId, accepted } = await probe(light.ws, light.ids[0]!, 'probe', heavy.ws.workspaceId);
    const heavyFirst = (await transitionsOf(heavy.ws.workspaceId, transitionId)) - accepted;
    // The batch in flight when the probe arrived (its three audiences), and one more for slack.
    expect(heavyFirst).toBeLessThanOrEqual(2 * BATCH * 3);

    await waitFor(async () => (await transitionsOf(heavy.ws.workspaceId)) === 3 * BACKLOG, {
      what: 'the backlog to be evaluated',
      timeoutMs: 120_000,
      intervalMs: 250,
    });
  }, 240_000);

  it("evaluates a workspace's live event before its own import's backlog", async () => {
    const busy = await workspace([['pro', 'trait plan = "Pro"']]);
    await backlog(busy.ws.workspaceId, 'bulk');
    await waitFor(async () => (await transitionsOf(busy.ws.workspaceId)) > 0, { what: 'the import to start' });

    const { transitionId, accepted } = await probe(busy.ws, busy.ids[0]!, 'live-probe', busy.ws.workspaceId);
    // The batch in flight when the change committed, and the probe's own batch: the probe and whole
    // rows of the import up to the limit (50 imported).
    const importFirst = (await transitionsOf(busy.ws.workspaceId, transitionId)) - accepted;
    expect(importFirst).toBeLessThanOrEqual(2 * BATCH);

    // The import goes on and completes.
    await waitFor(async () => (await transitionsOf(busy.ws.workspaceId)) === BACKLOG + 1, {
      what: 'the import to be evaluated',
      timeoutMs: 120_000,
      intervalMs: 250,
    });
  }, 240_000);
});
