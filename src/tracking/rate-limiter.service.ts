import { Injectable, Logger } from '@nestjs/common';

import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { redisScript, RedisService } from '../redis/redis.service';
import { RateLimitedError } from './tracking.errors';

/**
 * Token buckets per source, one counting events and one counting bytes, in the GCRA form (one
 * number per bucket: the "theoretical arrival time" when the bucket is full again). Each bucket
 * holds one second of its rate and refills continuously, so no boundary lets twice the rate
 * through, as a fixed window did (rate-limiter-flexible's Redis limiter is such a window, started
 * at the first request). A request is taken from both buckets or from neither. A request larger
 * than a whole bucket passes when that bucket is full and then makes the source wait its cost, so
 * an oversized batch is slowed, not refused forever. Redis' one script call keeps it atomic across
 * API processes; "now" comes from the injected clock (processes' clocks agree within ms, and the
 * bucket tolerates that).
 */
const CONSUME_SCRIPT = redisScript(`
local now = tonumber(ARGV[1])
local wait = 0
local tats = {}
for i = 1, #KEYS do
  local rate = tonumber(ARGV[2 * i])
  local cost = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local next_tat = tat + cost * 1000 / rate
  local allowed_at = math.min(next_tat - 1000, tat)
  if allowed_at > now then
    wait = math.max(wait, allowed_at - now)
  end
  tats[i] = next_tat
end
if wait > 0 then return {0, tostring(wait)} end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], string.format('%.3f', tats[i]), 'PX', math.ceil(tats[i] - now) + 1)
end
return {1, '0'}`);

const WARN_EVERY_MS = 60_000;

/** What a request costs, and what its source may spend per second. */
export interface RateLimitCost {
  events: number;
  bytes: number;
}

export interface RateLimits {
  rateLimitPerSecond: number;
  bytesPerSecond: number;
}

@Injectable()
export class RateLimiterService {
  private readonly logger = new Logger(RateLimiterService.name);
  private lastWarning = 0;

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** Throws RateLimitedError when the source is over either limit. Fails open while Redis is down. */
  async consume(sourceId: string, cost: RateLimitCost, limits: RateLimits): Promise<void> {
    // The hash tag keeps a source's two buckets in one Redis Cluster slot, as one script needs.
    const key = `${this.config.QUEUE_PREFIX}:ratelimit:{${sourceId}}`;
    let result: unknown;
    try {
      result = await this.redis.runScript(
        CONSUME_SCRIPT,
        [`${key}:events`, `${key}:bytes`],
        [this.clock.now().getTime(), limits.rateLimitPerSecond, cost.events, limits.bytesPerSecond, cost.bytes],
      );
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
    const [allowed, waitMs] = Array.isArray(result) ? (result as unknown[]) : [1, '0'];
    if (allowed === 0) throw new RateLimitedError(Math.max(1, Math.ceil(Number(waitMs) / 1000)));
  }
}
