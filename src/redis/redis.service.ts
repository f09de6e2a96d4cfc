import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';

import { AppConfig } from '../config/app-config';
import { createRedis } from './redis-connection';

/** A general-purpose Redis client (health checks, rate limits); BullMQ keeps its own connections. */
@Injectable()
export class RedisService implements OnModuleInit, OnModuleDestroy {
  readonly client: Redis;

  constructor(config: AppConfig) {
    // Commands fail fast while Redis is down instead of piling up in an offline queue, so callers
    // (health checks, rate limits) answer promptly; the client keeps reconnecting in the background.
    this.client = createRedis(config.REDIS_URL, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: true,
    });
    this.client.on('error', () => undefined);
  }

  async onModuleInit(): Promise<void> {
    // A Redis that is down at start-up is not fatal: retryStrategy keeps trying and /health says so.
    await this.client.connect().catch(() => undefined);
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  onModuleDestroy(): void {
    this.client.disconnect();
  }
}
