import { Job, Queue, Worker } from 'bullmq';

import { Prisma } from '../../src/generated/prisma/client';
import { DatabaseWatchdog } from '../../src/ops/database-watchdog.service';
import { PrismaService } from '../../src/prisma/prisma.service';
import { bullOptions } from '../../src/queues/queue-connection';
import { WorkerRegistry } from '../../src/queues/worker-registry.service';
import { startTestApp, TestApp } from '../support/app';
import { TEST_SERVER_URL } from '../support/database';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/wait-for';

describe('workers while Postgres is down', () => {
  let proxy: TcpProxy;
  let app: TestApp;
  let queue: Queue;
  let worker: Worker;
  const processed: string[] = [];

  beforeAll(async () => {
    proxy = await TcpProxy.start(TEST_SERVER_URL);
    app = await startTestApp({ ROLE: 'worker' }, {}, (url) => proxy.rewrite(url));
    queue = new Queue('watchdog-probe', bullOptions(app.config));
    worker = new Worker(
      'watchdog-probe',
      async (job: Job) => {
        processed.push(job.id ?? '');
      },
      bullOptions(app.config),
    );
    app.personae.app.get(WorkerRegistry).register(worker);
  });
  afterAll(async () => {
    proxy.restore();
    await worker.close();
    await queue.close();
    await app.close();
    await proxy.close();
  });

  it('stop taking jobs when Postgres goes away and resume on their own when it returns', async () => {
    await queue.add('probe', {}, { jobId: 'before' });
    await waitFor(() => processed.includes('before'), { what: 'the first job' });

    proxy.cut();
    await waitFor(() => worker.isPaused(), { what: 'workers to pause', timeoutMs: 20_000 });
    const during = ['d1', 'd2', 'd3', 'd4', 'd5'];
    for (const jobId of during) await queue.add('probe', {}, { jobId });
    // A fetch already waiting on Redis when the pause came may still claim one job; no more.
    const states = await Promise.all(during.map((jobId) => queue.getJobState(jobId)));
    expect(states.filter((state) => state === 'waiting').length).toBeGreaterThanOrEqual(during.length - 1);

    proxy.restore();
    await waitFor(() => !worker.isPaused(), { what: 'workers to resume', timeoutMs: 20_000 });
    await waitFor(() => during.every((jobId) => processed.includes(jobId)), {
      what: 'the jobs queued during the outage',
    });
    expect(processed.sort()).toEqual(['before', ...during].sort());
  });

  it('keep taking jobs while every connection of the main pool is busy', async () => {
    const prisma = app.personae.app.get(PrismaService);
    const watchdog = app.personae.app.get(DatabaseWatchdog);
    // Every connection of the pool busy for longer than the watchdog waits for its answer.
    const busy = Array.from({ length: app.config.DATABASE_POOL_SIZE }, () =>
      prisma.query(Prisma.sql`SELECT pg_sleep(4)`),
    );
    try {
      await watchdog.check();
      expect(watchdog.workersPaused).toBe(false);
      expect(worker.isPaused()).toBe(false);
      await queue.add('probe', {}, { jobId: 'while-busy' });
      await waitFor(() => processed.includes('while-busy'), { what: 'a job while the pool is busy' });
    } finally {
      await Promise.allSettled(busy);
    }
  });
});
