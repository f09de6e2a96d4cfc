import Redis, { RedisOptions } from 'ioredis';

/** Reconnect forever with a capped backoff: this is what lets queues and workers survive a Redis restart. */
export function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 200, 2_000);
}

/** Settings shared by every ioredis client of Personae (BullMQ needs maxRetriesPerRequest: null). */
export function redisOptions() {
  return { maxRetriesPerRequest: null, retryStrategy: reconnectDelay };
}

export function createRedis(url: string, overrides: RedisOptions = {}): Redis {
  return new Redis(url, { ...redisOptions(), ...overrides });
}
