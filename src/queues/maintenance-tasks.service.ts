import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';

import { QueueName } from './queue-names';

/** Periodic housekeeping run as a BullMQ job scheduler on the `maintenance` queue. */
export interface MaintenanceTask {
  /** Job name; the scheduler is `maintenance-<name>`. Stored in Redis: never rename one. */
  name: string;
  everyMs: number;
  /** Throws to fail the job (it shows in the queue dashboard); the next run comes on schedule anyway. */
  run(): Promise<unknown>;
}

export function maintenanceSchedulerId(taskName: string): string {
  return `maintenance-${taskName}`;
}

/**
 * The housekeeping of the worker role (outbox relay, delivery sweeper, …): features register a
 * task while their module initialises, and each becomes a job scheduler on the `maintenance`
 * queue, so one run per interval happens across all workers, visible in the dashboard. Redis
 * holds the schedulers, so they are upserted again whenever the connection becomes ready: a
 * Redis that restarted empty gets them back without a worker restart.
 */
@Injectable()
export class MaintenanceTasks implements OnApplicationBootstrap {
  private readonly logger = new Logger(MaintenanceTasks.name);
  private readonly tasks = new Map<string, MaintenanceTask>();

  constructor(@InjectQueue(QueueName.Maintenance) private readonly queue: Queue) {}

  register(task: MaintenanceTask): void {
    if (this.tasks.has(task.name)) throw new Error(`maintenance task ${task.name} is registered twice`);
    this.tasks.set(task.name, task);
  }

  find(name: string): MaintenanceTask | undefined {
    return this.tasks.get(name);
  }

  names(): string[] {
    return [...this.tasks.keys()].sort();
  }

  onApplicationBootstrap(): void {
    // In the background: a worker must start even while Redis is down.
    this.queue.getBackend().on('ready', () => void this.ensureSchedulers());
    void this.queue.waitUntilReady().then(
      () => this.ensureSchedulers(),
      () => undefined,
    );
  }

  /** Idempotent: an unchanged interval keeps its next run. */
  async ensureSchedulers(): Promise<void> {
    try {
      for (const task of this.tasks.values()) {
        await this.queue.upsertJobScheduler(
          maintenanceSchedulerId(task.name),
          { every: task.everyMs },
          { name: task.name, data: {}, opts: { removeOnComplete: 100, removeOnFail: 500 } },
        );
      }
    } catch (error) {
      this.logger.warn(
        `maintenance schedulers not installed, retrying when Redis is back: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
