import Redis from 'ioredis';

/**
 * Every Redis key of a benchmark run, all under its own prefix: its queues (destinations' own
 * included, whose names are not known in advance) and its rate limiter's. SCAN, so a large Redis
 * is not blocked.
 */
export async function dropRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true });
  try {
    await redis.connect();
    for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 })) {
      if ((keys as string[]).length > 0) await redis.unlink(...(keys as string[]));
    }
  } finally {
    redis.disconnect();
  }
}
