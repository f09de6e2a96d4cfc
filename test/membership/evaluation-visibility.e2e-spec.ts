import { createWorkspace, startTestApp, TEST_ADMIN_TOKEN, TestApp, WorkspaceCredentials } from '../support/app';
import { TestSql } from '../tracking/tracking-support';

/**
 * The backlog and the lag of real-time evaluation, per workspace and lane, in /metrics and in
 * /api/status. This process runs no workers, so outbox rows stay where the test puts them.
 */
describe('real-time evaluation backlog and lag', () => {
  let app: TestApp;
  let sql: TestSql;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api', EVALUATION_LAG_DEGRADED_SECONDS: '30', METRICS_COLLECT_INTERVAL_MS: '0' });
    sql = await TestSql.connect(app);
  });

  afterAll(async () => {
    await sql.close();
    await app.close();
  });

  /** An outbox row per entry of `profilesPerRow`, listing that many new profile ids. */
  async function changes(
    ws: WorkspaceCredentials,
    lane: 'live' | 'bulk',
    profilesPerRow: number[],
    ageSeconds: number,
  ) {
    await sql.rows(
      `INSERT INTO profile_changes (workspace_id, profile_ids, lane, created_at)
       SELECT $1, ARRAY(SELECT gen_random_uuid() FROM generate_series(1, r.n)), $2::change_lane,
              now() - make_interval(secs => $4)
       FROM unnest($3::int[]) AS r(n)`,
      [ws.workspaceId, lane, profilesPerRow, ageSeconds],
    );
  }

  const status = async (ws: WorkspaceCredentials) =>
    (await app.http().get('/api/status').set('authorization', `Bearer ${ws.apiToken}`).expect(200)).body as {
      status: string;
      problems: string[];
      evaluation: unknown;
      outbox: unknown;
    };

  it('are metrics per workspace and lane', async () => {
    const ws = await createWorkspace(app);
    // The backlog counts profiles, not rows.
    await changes(ws, 'live', [2, 1], 5);
    await changes(ws, 'bulk', [2], 120);
    const text = (await app.http().get('/metrics').set('authorization', `Bearer ${TEST_ADMIN_TOKEN}`).expect(200)).text;
    const labels = (lane: string) => `workspace="${ws.workspaceId}",lane="${lane}"`;
    expect(text).toContain(`personae_evaluation_backlog{${labels('live')}} 3`);
    expect(text).toContain(`personae_evaluation_backlog{${labels('bulk')}} 2`);
    const lag = (lane: string) =>
      Number(new RegExp(`^personae_evaluation_lag_seconds\\{${labels(lane)}\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(lag('live')).toBeGreaterThanOrEqual(5);
    expect(lag('live')).toBeLessThan(120);
    expect(lag('bulk')).toBeGreaterThanOrEqual(120);
    expect(text).toMatch(/^personae_outbox_backlog \d+$/m);
  });

  it('make /api/status degraded when live changes wait longer than the threshold, not bulk ones', async () => {
    const ws = await createWorkspace(app);
    expect(await status(ws)).toMatchObject({
      status: 'ok',
      evaluation: {
        live: { backlog: 0, lagSeconds: null },
        bulk: { backlog: 0, lagSeconds: null },
        lagThresholdSeconds: 30,
      },
    });

    // An import waiting behind live traffic is expected.
    await changes(ws, 'bulk', [3, 1], 600);
    await changes(ws, 'live', [1], 2);
    const importing = await status(ws);
    expect(importing).toMatchObject({
      status: 'ok',
      evaluation: { live: { backlog: 1 }, bulk: { backlog: 4 } },
      outbox: { backlog: 5 },
    });
    expect((importing.evaluation as { bulk: { lagSeconds: number } }).bulk.lagSeconds).toBeGreaterThanOrEqual(600);

    await changes(ws, 'live', [1], 90);
    const behind = await status(ws);
    expect(behind.status).toBe('degraded');
    expect(behind.problems).toEqual([
      expect.stringMatching(/^real-time evaluation is (9\d|1\d\d) s behind \(more than 30 s\)$/),
    ]);
  });
});
