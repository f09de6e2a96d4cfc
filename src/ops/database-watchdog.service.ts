import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Client } from 'pg';

import { withTimeout } from '../common/timeout';
import { DatabaseConfig } from '../config/app-config';
import { WorkerRegistry } from '../queues/worker-registry.service';

const CHECK_EVERY_MS = 2_000;
const CHECK_TIMEOUT_MS = 2_000;

/**
 * Workers stop taking jobs while Postgres is down (a job started then would only fail and burn a
 * retry) and resume by themselves when it answers again. Jobs already running finish or fail as
 * they would; BullMQ retries the failed ones.
 *
 * It asks over a connection of its own: on the main pool, a ping waited behind long statements
 * whenever every connection was busy, and a busy pool looked like an outage (workers paused,
 * "unreachable" in the log).
 */
@Injectable()
export class DatabaseWatchdog implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DatabaseWatchdog.name);
  private timer?: NodeJS.Timeout;
  private paused = false;
  private client?: Client;
  private checking?: Promise<void>;

  constructor(
    private readonly config: DatabaseConfig,
    private readonly workers: WorkerRegistry,
  ) {}

  get workersPaused(): boolean {
    return this.paused;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.drop();
  }

  /** One check at a time: a caller while one runs gets its outcome (they share the connection). */
  check(): Promise<void> {
    this.checking ??= this.run().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async run(): Promise<void> {
    const up = await withTimeout(this.ping(), CHECK_TIMEOUT_MS, 'postgres').then(
      () => true,
      async () => {
        await this.drop();
        return false;
      },
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

  /** `SELECT 1` on the watchdog's connection; one that broke since (Postgres restarted) is replaced once. */
  private async ping(): Promise<void> {
    if (this.client) {
      try {
        await this.client.query('SELECT 1');
        return;
      } catch {
        await this.drop();
      }
    }
    const client = new Client({
      connectionString: this.config.DATABASE_URL,
      connectionTimeoutMillis: CHECK_TIMEOUT_MS,
    });
    // A connection that dies while idle must not crash the process: the next check replaces it.
    client.on('error', () => undefined);
    this.client = client;
    await client.connect();
    await client.query('SELECT 1');
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
