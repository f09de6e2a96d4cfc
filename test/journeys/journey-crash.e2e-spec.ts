import { destinationsApi } from '../destinations/support/api';
import { SmtpTestServer } from '../destinations/support/smtp-test-server';
import { createWorkspace, startTestApp, TestApp, testEnvironment, WorkspaceCredentials } from '../support/app';
import { Running, runTs } from '../support/processes';
import { waitFor } from '../support/wait-for';
import { TestSql } from '../tracking/tracking-support';

const RUNS = 300;

/**
 * A worker is SIGKILLed while its timer sweep moves runs through two send steps, a few runs per
 * transaction, then started again: no run skips or repeats a step, each send step has exactly one
 * delivery, and every run ends with both emails sent.
 */
describe('journeys: a worker killed mid-step', () => {
  let smtp: SmtpTestServer;
  let app: TestApp;
  let sql: TestSql;
  let ws: WorkspaceCredentials;
  const workers: Running[] = [];

  beforeAll(async () => {
    smtp = await SmtpTestServer.start();
    app = await startTestApp({ ROLE: 'api' });
    sql = await TestSql.connect(app);
    ws = await createWorkspace(app);
  });

  afterAll(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.finished));
    await sql.close();
    await app.close();
    await smtp.close();
  });

  function startWorker(): Running {
    const env = testEnvironment(app.database, {
      ROLE: 'worker',
      QUEUE_PREFIX: app.config.QUEUE_PREFIX,
      LOG_LEVEL: 'warn',
      JOURNEY_BATCH_SIZE: '10',
      JOURNEY_SWEEP_INTERVAL_MS: '200',
    });
    const worker = runTs('src/main.ts', [], env);
    workers.push(worker);
    return worker;
  }

  const counts = async () => {
    const [row] = await sql.rows<{ completed: number; deliveries: number }>(
      `SELECT (SELECT count(*)::int FROM journey_runs WHERE status = 'completed') AS completed,
              (SELECT count(*)::int FROM deliveries WHERE journey_run_id IS NOT NULL) AS deliveries`,
    );
    return row!;
  };

  it('neither skips nor repeats a step', async () => {
    const api = destinationsApi(app, ws.apiToken);
    await api
      .post('/api/audiences')
      .send({ key: 'crash-entry', name: 'Crash', definition: 'performed "Signed Up"' })
      .expect(201);
    const email = await api.createEmail({ smtpUrl: smtp.url, from: 'Acme <hello@acme.test>', subject: 'x', text: 'x' });
    const created = await api
      .post('/api/journeys')
      .send({
        key: 'crash',
        name: 'Crash',
        entry: { audience: 'crash-entry' },
        steps: [
          { id: 'first', type: 'send', destination: email, subject: 'First', next: 'second' },
          { id: 'second', type: 'send', destination: email, subject: 'Second' },
        ],
      })
      .expect(201);
    const journeyId = created.body.id as string;
    await api.post(`/api/journeys/${journeyId}/activate`).expect(200);
    // Runs waiting at their first step, due now (as entries or expired timers leave them).
    await sql.rows(
      `WITH people AS (
         INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
         SELECT gen_random_uuid(), $1, jsonb_build_object('email', 'crash' || i || '@example.test'), now(), now()
         FROM generate_series(1, $3::int) i RETURNING id)
       INSERT INTO journey_runs (id, workspace_id, journey_id, version, profile_id, active_profile_id, step_id,
                                 step_entered_at, due_at, started_at)
       SELECT gen_random_uuid(), $1, $2, 1, id, id, 'first', now(), now(), now() FROM people`,
      [ws.workspaceId, journeyId, RUNS],
    );

    const first = startWorker();
    await waitFor(
      async () => {
        const { completed } = await counts();
        return completed > 0 && completed < RUNS * 0.8;
      },
      { what: 'the sweep half-way', intervalMs: 5, timeoutMs: 60_000 },
    );
    first.kill('SIGKILL');
    await first.finished;
    const atKill = await counts();
    expect(atKill.completed).toBeLessThan(RUNS);

    startWorker();
    await waitFor(async () => (await counts()).completed === RUNS, {
      what: 'every run after the restart',
      timeoutMs: 90_000,
    });
    expect((await counts()).deliveries).toBe(2 * RUNS);
    const paths = await sql.rows<{ path: string; n: number }>(
      `SELECT string_agg(h.step_id || ':' || h.outcome, ' ' ORDER BY h.seq) AS path, count(*)::int AS n
       FROM journey_run_steps h GROUP BY h.run_id`,
    );
    expect(paths).toHaveLength(RUNS);
    expect(new Set(paths.map((p) => p.path))).toEqual(new Set(['first:sent second:sent']));
    const perRun = await sql.rows<{ seqs: number[] }>(
      `SELECT array_agg(journey_seq ORDER BY journey_seq) AS seqs FROM deliveries
       WHERE journey_run_id IS NOT NULL GROUP BY journey_run_id`,
    );
    expect(perRun.every((r) => r.seqs.join() === '0,1')).toBe(true);
    await waitFor(async () => (await sql.count(`SELECT count(*) FROM deliveries WHERE status = 'sent'`)) === 2 * RUNS, {
      what: 'every email sent',
      timeoutMs: 90_000,
      intervalMs: 250,
    });
    for (let i = 1; i <= RUNS; i++) {
      expect(new Set(smtp.to(`crash${i}@example.test`).map((m) => m.subject))).toEqual(new Set(['First', 'Second']));
    }
  }, 240_000);
});
