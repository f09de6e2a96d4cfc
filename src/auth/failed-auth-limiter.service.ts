import { ExecutionContext, HttpException, HttpStatus, Injectable, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

import { AppConfig } from '../config/app-config';
import { RedisService } from '../redis/redis.service';

/** The client address failed to authenticate too often; it may try again after `retryAfterSeconds`. */
export class TooManyFailedAttemptsError extends HttpException {
  constructor(readonly retryAfterSeconds: number) {
    super(
      {
        statusCode: HttpStatus.TOO_MANY_REQUESTS,
        error: 'Too Many Requests',
        message: `too many failed authentication attempts from this address; retry after ${retryAfterSeconds} s`,
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/** How long a "not blocked" answer from Redis is trusted before it is asked again, per address. */
const RECHECK_MS = 1_000;
/** Local memory of addresses: beyond this many, it starts afresh (Redis still holds the counts). */
const MAX_ADDRESSES = 10_000;
const WARN_EVERY_MS = 60_000;

/**
 * Counts failed attempts at a credential (admin token, API token, write key) per client address
 * in Redis, so the count holds across processes: past AUTH_FAILURE_LIMIT failures within
 * AUTH_FAILURE_WINDOW_SECONDS the address gets 429 with Retry-After for every attempt, right or
 * wrong, for one window. Until then its successful requests are untouched. A process asks Redis
 * about an address at most once a second and remembers blocks locally; while Redis is down the
 * limit is off (fails open), as tracking must go on.
 */
@Injectable()
export class FailedAuthLimiter {
  private readonly logger = new Logger(FailedAuthLimiter.name);
  private readonly limiter: RateLimiterRedis;
  /** Address → blocked until (ms), or cleared until (negative ms: not blocked, asked Redis then). */
  private readonly known = new Map<string, number>();
  private lastWarning = 0;

  constructor(
    redis: RedisService,
    private readonly config: AppConfig,
  ) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis.client,
      keyPrefix: `${config.QUEUE_PREFIX}:auth-failures`,
      points: config.AUTH_FAILURE_LIMIT,
      duration: config.AUTH_FAILURE_WINDOW_SECONDS,
      blockDuration: config.AUTH_FAILURE_WINDOW_SECONDS,
      rejectIfRedisNotReady: true,
    });
  }

  /** Throws TooManyFailedAttemptsError while `address` is over its limit. */
  async assertAllowed(address: string | undefined): Promise<void> {
    if (!address) return;
    const now = Date.now();
    const known = this.known.get(address);
    if (known !== undefined && known > now) throw this.tooMany(known - now);
    if (known !== undefined && -known > now) return;
    let state: RateLimiterRes | null;
    try {
      state = await this.limiter.get(address);
    } catch (error) {
      this.failOpen(error);
      return;
    }
    if (state && state.consumedPoints > this.config.AUTH_FAILURE_LIMIT) {
      this.remember(address, now + state.msBeforeNext);
      throw this.tooMany(state.msBeforeNext);
    }
    this.remember(address, -(now + RECHECK_MS));
  }

  /** Counts one failed attempt of `address`; throws TooManyFailedAttemptsError when it passes the limit. */
  async recordFailure(address: string | undefined): Promise<void> {
    if (!address) return;
    try {
      await this.limiter.consume(address);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) {
        this.failOpen(rejection);
        return;
      }
      this.remember(address, Date.now() + rejection.msBeforeNext);
      throw this.tooMany(rejection.msBeforeNext);
    }
  }

  /**
   * For guards: runs `check` for the request's address, and when the address is refused, puts
   * Retry-After on the reply (an HttpException cannot carry headers).
   */
  async guard<T>(context: ExecutionContext, check: (address: string) => Promise<T>): Promise<T> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    try {
      return await check(request.ip);
    } catch (error) {
      if (error instanceof TooManyFailedAttemptsError) {
        void http.getResponse<FastifyReply>().header('retry-after', String(error.retryAfterSeconds));
      }
      throw error;
    }
  }

  private tooMany(ms: number): TooManyFailedAttemptsError {
    return new TooManyFailedAttemptsError(Math.max(1, Math.ceil(ms / 1000)));
  }

  private remember(address: string, value: number): void {
    if (this.known.size >= MAX_ADDRESSES && !this.known.has(address)) this.known.clear();
    this.known.set(address, value);
  }

  private failOpen(error: unknown): void {
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    this.logger.warn(
      `failed-authentication limits are off while Redis fails: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
