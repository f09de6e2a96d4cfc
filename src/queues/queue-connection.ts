import type { QueueOptions } from 'bullmq';

import { AppConfig } from '../config/app-config';
import { redisOptions } from '../redis/redis-connection';

/** BullMQ options shared by every queue and worker: one Redis URL, one key prefix. */
export function bullOptions(config: AppConfig): QueueOptions {
  return {
    prefix: config.QUEUE_PREFIX,
    connection: { url: config.REDIS_URL, ...redisOptions() },
    defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 5000 },
  };
}
