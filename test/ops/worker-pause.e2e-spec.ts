import { Job, Queue, Worker } from 'bullmq';
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
    await queue.add('probe', {}, { jobId: 'during' });
    expect(await queue.getJobState('during')).toBe('waiting');
    expect(processed).toEqual(['before']);

    proxy.restore();
    await waitFor(() => !worker.isPaused(), { what: 'workers to resume', timeoutMs: 20_000 });
    await waitFor(() => processed.includes('during'), { what: 'the job queued during the outage' });
    expect(processed).toEqual(['before', 'during']);
  });
});
