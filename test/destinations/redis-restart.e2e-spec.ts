import { PrivateRedis } from '../support/redis-server';
import { waitFor } from '../support/wait-for';
import { SmtpTestServer } from './support/smtp-test-server';
import { Testbed } from './support/testbed';

const RECIPIENTS = 20;

/** Redis restarts empty (no persistence) mid-batch: the sweeper rebuilds the queue from Postgres. */
describe('deliveries across a Redis restart that loses every job', () => {
  let redis: PrivateRedis;
  let smtp: SmtpTestServer;
  let bed: Testbed;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    smtp = await SmtpTestServer.start({ delayMs: 100 });
    bed = await Testbed.start({ REDIS_URL: redis.url }, [() => smtp.close(), () => redis.stop()]);
  });

  afterAll(() => bed.close());

  it('sends every email exactly once', async () => {
    const { api, seed, ws } = bed;
    const audienceId = await seed.audience(ws.workspaceId, 'redis');
    const destinationId = await api.createEmail(
      { smtpUrl: smtp.url, from: 'hello@acme.test', subject: 'Hi', text: 'Hello', maxConnections: 1 },
      5,
    );
    await api.connect(audienceId, destinationId);
    for (let i = 0; i < RECIPIENTS; i++) {
      const p = await seed.profile(ws.workspaceId, { email: `redis${i}@example.test` });
      await seed.enter(ws.workspaceId, audienceId, p);
    }
    await waitFor(() => smtp.accepted.length >= 3, { what: 'first emails' });
    await redis.stop();
    await redis.start();

    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === RECIPIENTS, {
      what: 'every delivery sent after the restart',
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    for (let i = 0; i < RECIPIENTS; i++) expect(smtp.to(`redis${i}@example.test`)).toHaveLength(1);
    expect(smtp.accepted).toHaveLength(RECIPIENTS);
  }, 90_000);
});
