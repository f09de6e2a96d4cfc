import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RedisService } from '../redis/redis.service';
import { RateLimitedError } from './tracking.errors';

/**
 * Fixed one-second windows per source, counted in events. A request that would pass the limit is
 * refused whole and not counted; a request alone in its window always passes, so a batch larger
 * than the limit is not refused forever.
 */
const CONSUME_SCRIPT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if count == tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], 2000)
  return 1
end
if count > tonumber(ARGV[2]) then
  redis.call('DECRBY', KEYS[1], ARGV[1])
  return 0
end
return 1`;

const WARN_EVERY_MS = 60_000;

@Injectable()
export class RateLimiterService {
  private readonly logger = new Logger(RateLimiterService.name);
  private lastWarning = 0;

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {}

  /** Throws RateLimitedError when the source is over its limit. Fails open while Redis is down. */
  async consume(sourceId: string, events: number, limitPerSecond: number): Promise<void> {
    const second = Math.floor(Date.now() / 1000);
    const key = `${this.config.QUEUE_PREFIX}:ratelimit:${sourceId}:${second}`;
    let allowed: unknown;
    try {
      allowed = await this.redis.client.eval(CONSUME_SCRIPT, 1, key, events, limitPerSecond);
    } catch (error) {
      // Postgres, not Redis, is what makes an event durable: an outage of Redis must not stop ingestion.
      const now = Date.now();
      if (now - this.lastWarning > WARN_EVERY_MS) {
        this.lastWarning = now;
        this.logger.warn(
          `rate limiting is off while Redis fails: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      return;
    }
    if (allowed === 0) throw new RateLimitedError(1);
  }
}
