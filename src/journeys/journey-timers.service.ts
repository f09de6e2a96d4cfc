import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';

import { AppConfig } from '../config/app-config';
import { MaintenanceTasks } from '../queues/maintenance-tasks.service';
import { JourneyEngineService, SweepOutcome } from './journey-engine.service';

/**
 * The journey timers as a job scheduler on the maintenance queue (one sweep per interval across
 * all workers, visible in the dashboard). Redis holds only the schedule: what is due lives in
 * Postgres (journey_runs.due_at), so a Redis flush or a worker crash loses no timer.
 */
@Injectable()
export class JourneyTimersService implements OnModuleInit, OnModuleDestroy {
  private running?: Promise<SweepOutcome>;

  constructor(
    private readonly engine: JourneyEngineService,
    private readonly maintenance: MaintenanceTasks,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    // A sweep runs until nothing is due or its time budget is spent.
    this.maintenance.register({
      name: 'journey-timers',
      everyMs: this.config.JOURNEY_SWEEP_INTERVAL_MS,
      run: () => this.tick(),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  /** One sweep at a time per process; errors fail the job (shown in the dashboard), the next comes on schedule. */
  async tick(): Promise<SweepOutcome | undefined> {
    if (this.running) return undefined;
    this.running = this.engine.sweep();
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }
}
