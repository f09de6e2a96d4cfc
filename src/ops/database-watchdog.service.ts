import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';

import { withTimeout } from '../common/timeout';
import { WorkerRegistry } from '../queues/worker-registry.service';
import { OpsRepository } from './ops.repository';

const CHECK_EVERY_MS = 2_000;
const CHECK_TIMEOUT_MS = 2_000;

/**
 * Workers stop taking jobs while Postgres is down (a job started then would only fail and burn a
 * retry) and resume by themselves when it answers again. Jobs already running finish or fail as
 * they would; BullMQ retries the failed ones.
 */
@Injectable()
export class DatabaseWatchdog implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DatabaseWatchdog.name);
  private timer?: NodeJS.Timeout;
  private paused = false;

  constructor(
    private readonly repository: OpsRepository,
    private readonly workers: WorkerRegistry,
  ) {}

  get workersPaused(): boolean {
    return this.paused;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async check(): Promise<void> {
    const up = await withTimeout(this.repository.ping(), CHECK_TIMEOUT_MS, 'postgres').then(
      () => true,
      () => false,
    );
    if (!up && !this.paused) {
      this.paused = true;
      this.logger.warn('Postgres is unreachable: pausing workers');
      await Promise.all(this.workers.all().map((worker) => worker.pause()));
    } else if (up && this.paused) {
      this.paused = false;
      this.logger.log('Postgres is back: resuming workers');
      await Promise.all(this.workers.all().map(async (worker) => worker.resume()));
    }
  }
}
