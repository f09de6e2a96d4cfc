import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';

import { QueueName } from '../../src/queues/queue-names';
import { startTestApp, TestApp, waitForQueues } from '../support/app';
import { PrivateRedis } from '../support/redis-server';
import { waitFor } from '../support/wait-for';

const SCHEDULERS = [
  'maintenance-journey-timers',
  'maintenance-relay-profile-changes',
  'maintenance-relay-sync-outbox',
  'maintenance-sweep-deliveries',
  'maintenance-vacuum-profile-changes',
];

/**
 * The housekeeping of workers (outbox relays, delivery sweeper, journey timers, the outbox's vacuum) runs as job schedulers on the
 * `maintenance` queue, with a worker — so the dashboard shows them, and a Redis that restarted
 * empty gets them back without a worker restart.
 */
describe('the maintenance queue', () => {
  let redis: PrivateRedis;
  let app: TestApp;
  let maintenance: Queue;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    app = await startTestApp({ REDIS_URL: redis.url, EVALUATION_SWEEP_INTERVAL_MS: '500' });
    maintenance = app.personae.app.get<Queue>(getQueueToken(QueueName.Maintenance));
  });

  afterAll(async () => {
    await app.close();
    await redis.stop();
  });

  const schedulerIds = async () =>
    (await maintenance.getJobSchedulers(0, -1)).map((scheduler) => scheduler.id ?? scheduler.key).sort();

  it('has a worker and a scheduler per task, and runs them', async () => {
    expect(await maintenance.getWorkersCount()).toBeGreaterThan(0);
    await waitFor(async () => (await schedulerIds()).join() === SCHEDULERS.join(), { what: 'the schedulers' });
    await waitFor(
      async () => {
        const names = new Set((await maintenance.getJobs(['completed'])).map((job) => job.name));
        return [
          'relay-profile-changes',
          'relay-sync-outbox',
          'sweep-deliveries',
          'journey-timers',
          'vacuum-profile-changes',
        ].every((name) => names.has(name));
      },
      { what: 'a completed run of each task', timeoutMs: 30_000 },
    );
  });

  it('installs its schedulers again after Redis restarted empty', async () => {
    await redis.stop();
    await redis.start();
    await waitForQueues(app);
    await waitFor(async () => (await schedulerIds()).join() === SCHEDULERS.join(), {
      what: 'the schedulers to come back',
      timeoutMs: 30_000,
    });
  });
});
