import { randomBytes, randomUUID } from 'node:crypto';

import { Job, Worker } from 'bullmq';

import { loadConfig } from '../../src/config/app-config';
import { deliveryIdsOf, DeliveryJob, DeliveryQueuesService } from '../../src/queues/delivery-queues.service';
import { bullOptions } from '../../src/queues/queue-connection';
import { deliveryQueueName } from '../../src/queues/queue-names';
import { PrivateRedis } from '../support/redis-server';
import { waitFor } from '../support/wait-for';

describe('delivery queues', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });
  afterAll(() => redis.stop());

  it('adds the retry of a batch while the job that failed it, with the same ids, is still running', async () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://unused@127.0.0.1/unused',
      REDIS_URL: redis.url,
      ADMIN_TOKEN: 'unused-admin-token-000',
      QUEUE_PREFIX: `p${randomBytes(4).toString('hex')}`,
    });
    const queues = new DeliveryQueuesService(config);
    const destinationId = randomUUID();
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const seen: string[][] = [];
    // The first job, while it runs, adds its own ids again, due a moment later (as a failed
    // request's transition batches are); the retry must run too.
    const worker = new Worker<DeliveryJob>(
      deliveryQueueName(destinationId),
      async (job: Job<DeliveryJob>) => {
        seen.push(deliveryIdsOf(job.data));
        const at = Date.now() + 200;
        if (seen.length === 1)
          await queues.enqueueDueTogether(
            destinationId,
            ids.map((id) => ({ id, at })),
          );
      },
      bullOptions(config),
    );
    worker.on('error', () => undefined);
    try {
      await queues.enqueue(ids.map((id) => ({ id, destinationId })));
      await waitFor(() => seen.length === 2, { what: 'the retry job' });
      expect(seen).toEqual([ids, ids]);
    } finally {
      await worker.close();
      await queues.onModuleDestroy();
    }
  });
});
