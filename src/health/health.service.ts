import { Injectable } from '@nestjs/common';

import { withTimeout } from '../common/timeout';
import { AppConfig } from '../config/app-config';
import { pendingMigrations } from '../database/migrator';
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

export interface ReadinessReport extends HealthReport {
  migrations: { status: 'current' | 'pending' | 'unknown'; pending: string[]; error?: string };
}

const CHECK_TIMEOUT_MS = 2_000;

@Injectable()
export class HealthService {
  /** Once the schema is current it stays current until the next deploy, so that answer is kept. */
  private migrationsCurrent = false;

  constructor(
    private readonly repository: HealthRepository,
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {}

  /** Ready to take traffic: Postgres and Redis answer and every migration is applied. */
  async readiness(): Promise<ReadinessReport> {
    const [health, migrations] = await Promise.all([this.check(), this.migrations()]);
    const ready = health.status === 'ok' && migrations.status === 'current';
    return { ...health, status: ready ? 'ok' : 'unavailable', migrations };
  }

  private async migrations(): Promise<ReadinessReport['migrations']> {
    if (this.migrationsCurrent) return { status: 'current', pending: [] };
    try {
      const pending = await withTimeout(pendingMigrations(this.config.DATABASE_URL), CHECK_TIMEOUT_MS, 'postgres');
      this.migrationsCurrent = pending.length === 0;
      return { status: this.migrationsCurrent ? 'current' : 'pending', pending };
    } catch (error) {
      return { status: 'unknown', pending: [], error: error instanceof Error ? error.message : String(error) };
    }
  }

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
