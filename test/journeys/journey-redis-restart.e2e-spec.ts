import { ManualClock } from '../../src/common/clock';
import { destinationsApi } from '../destinations/support/api';
import { SmtpTestServer } from '../destinations/support/smtp-test-server';
import { MembershipFixtures } from '../membership/membership-support';
import { createWorkspace, startTestApp, TestApp, waitForQueues } from '../support/app';
import { PrivateRedis } from '../support/redis-server';
import { waitFor } from '../support/wait-for';
import { TestSql } from '../tracking/tracking-support';
import { createJourney, DAY, EMAIL, START } from './journey-support';

/**
 * Timers live in Postgres: a Redis that restarts empty while runs wait loses nothing. The timer
 * sweep's scheduler comes back by itself and the due step runs — no manual sweep here.
 */
describe('journeys: a Redis restart while runs wait', () => {
  let redis: PrivateRedis;
  let smtp: SmtpTestServer;
  let app: TestApp;
  let sql: TestSql;
  const clock = new ManualClock(START);

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    smtp = await SmtpTestServer.start();
    app = await startTestApp({ REDIS_URL: redis.url, SMTP_URL: smtp.url }, { clock });
    sql = await TestSql.connect(app);
  });

  afterAll(async () => {
    await sql.close();
    await app.close();
    await redis.stop();
    await smtp.close();
  });

  it('fires the timer of a run that waited through an empty Redis', async () => {
    const ws = await createWorkspace(app);
    const f = new MembershipFixtures(sql, ws.workspaceId, ws.sourceId);
    const api = destinationsApi(app, ws.apiToken);
    await f.audience('entry', 'performed "Signed Up"');
    const email = await api.createEmail(EMAIL);
    const journeyId = await createJourney(app, ws.apiToken, {
      key: 'survivor',
      name: 'Survivor',
      entry: { audience: 'entry' },
      steps: [
        { id: 'wait', type: 'wait', duration: { amount: 1, unit: 'days' }, next: 'hello' },
        { id: 'hello', type: 'send', destination: email, subject: 'Still here' },
      ],
    });
    const person = await f.profile({ traits: { email: 'survivor@example.test' } });
    await f.event(person, 'Signed Up', clock.now());
    await f.changed(person);
    await waitFor(
      async () => (await sql.count(`SELECT count(*) FROM journey_runs WHERE journey_id = $1`, [journeyId])) === 1,
      {
        what: 'the run',
      },
    );

    await redis.stop();
    await redis.start();
    await waitForQueues(app);
    clock.advance(DAY + 60_000);
    await waitFor(() => smtp.to('survivor@example.test').length === 1, {
      what: 'the email after the restart',
      timeoutMs: 60_000,
    });
    const [run] = await sql.rows<{ status: string }>(`SELECT status::text FROM journey_runs WHERE journey_id = $1`, [
      journeyId,
    ]);
    expect(run!.status).toBe('completed');
  });
});
