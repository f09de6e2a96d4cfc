import { createHash } from 'node:crypto';

import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';

import { AppConfig } from '../config/app-config';
import { createRedis } from './redis-connection';

/** A Lua script and its SHA-1, by which Redis runs it once it has seen it. */
export interface RedisScript {
  source: string;
  sha: string;
}

export function redisScript(source: string): RedisScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

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

  /**
   * Runs a script by its SHA-1 (EVALSHA), sending its text only when Redis does not know it yet
   * (after a restart or SCRIPT FLUSH): on a hot path, EVAL would send and hash the text every call.
   */
  async runScript(script: RedisScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await this.client.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.client.eval(script.source, keys.length, ...keys, ...args);
    }
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  onModuleDestroy(): void {
    this.client.disconnect();
  }
}
