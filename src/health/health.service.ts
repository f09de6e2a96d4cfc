import { Injectable } from '@nestjs/common';
import { withTimeout } from '../common/timeout';
import { RedisService } from '../redis/redis.service';
import { HealthRepository } from './health.repository';

export interface DependencyHealth {
  status: 'up' | 'down';
  latencyMs: number;
  error?: string;
}

export interface HealthReport {
  status: 'ok' | 'unavailable';
  postgres: DependencyHealth;
  redis: DependencyHealth;
}

const CHECK_TIMEOUT_MS = 2_000;

@Injectable()
export class HealthService {
  constructor(
    private readonly repository: HealthRepository,
    private readonly redis: RedisService,
  ) {}

  async check(): Promise<HealthReport> {
    const [postgres, redis] = await Promise.all([
      probe(() => this.repository.ping(), 'postgres'),
      probe(() => this.redis.ping(), 'redis'),
    ]);
    return { status: postgres.status === 'up' && redis.status === 'up' ? 'ok' : 'unavailable', postgres, redis };
  }
}

async function probe(ping: () => Promise<void>, name: string): Promise<DependencyHealth> {
  const started = performance.now();
  try {
    await withTimeout(ping(), CHECK_TIMEOUT_MS, name);
    return { status: 'up', latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      status: 'down',
      latencyMs: Math.round(performance.now() - started),
      error: error instanceof Error ? error.message : String(error),
    };
  }
}
