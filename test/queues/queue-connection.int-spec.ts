import { randomBytes } from 'node:crypto';

import { Job, Queue, Worker } from 'bullmq';
import Redis from 'ioredis';

import { loadConfig } from '../../src/config/app-config';
import { bullOptions } from '../../src/queues/queue-connection';
import { PrivateRedis } from '../support/redis-server';
import { waitFor } from '../support/wait-for';

describe('BullMQ connections', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });
  afterAll(() => redis.stop());

  function options(prefix: string) {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://unused@127.0.0.1/unused',
      REDIS_URL: redis.url,
      ADMIN_TOKEN: 'unused-admin-token-000',
      QUEUE_PREFIX: prefix,
    });
    return bullOptions(config);
  }

  it('keeps every key under the configured prefix', async () => {
    const prefix = `p${randomBytes(4).toString('hex')}`;
    const queue = new Queue('evaluate', options(prefix));
    const inspector = new Redis(redis.url);
    try {
      await queue.add('x', {}, { jobId: 'one' });
      const keys = await inspector.keys('*');
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.every((key) => key.startsWith(`${prefix}:evaluate:`))).toBe(true);
    } finally {
      await queue.close();
      inspector.disconnect();
    }
  });

  it('goes on processing jobs after Redis restarts', async () => {
    const prefix = `p${randomBytes(4).toString('hex')}`;
    const processed: string[] = [];
    const queue = new Queue('compute', options(prefix));
    const worker = new Worker(
      'compute',
      async (job: Job) => {
        processed.push(job.id ?? '');
      },
      options(prefix),
    );
    // Errors while Redis is away are expected; the connection must recover by itself.
    queue.on('error', () => undefined);
    worker.on('error', () => undefined);
    try {
      await queue.add('x', {}, { jobId: 'before' });
      await waitFor(() => processed.includes('before'), { what: 'job before the restart' });

      await redis.stop();
      await redis.start();

      await waitFor(() => queue.add('x', {}, { jobId: 'after' }).then(() => true), { what: 'queue to reconnect' });
      await waitFor(() => processed.includes('after'), { what: 'job after the restart', timeoutMs: 30_000 });
      expect(processed).toEqual(['before', 'after']);
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});
