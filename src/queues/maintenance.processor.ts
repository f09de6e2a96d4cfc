import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job } from 'bullmq';

import { MaintenanceTasks } from './maintenance-tasks.service';
import { QueueName } from './queue-names';

/**
 * Runs the registered maintenance tasks. Two at once, so a slow sweep (a delivery sweeper waiting
 * on Redis) does not hold up the outbox relay.
 */
@Processor(QueueName.Maintenance, { concurrency: 2 })
export class MaintenanceProcessor extends WorkerHost {
  private readonly logger = new Logger(MaintenanceProcessor.name);

  constructor(private readonly tasks: MaintenanceTasks) {
    super();
  }

  async process(job: Job): Promise<unknown> {
    const task = this.tasks.find(job.name);
    // A scheduler left by another version of Personae: nothing here knows its task.
    if (!task) {
      this.logger.warn(`no maintenance task named ${job.name}`);
      return { skipped: 'unknown task' };
    }
    return (await task.run()) ?? null;
  }

  /** Connection errors (Redis restarting); the worker reconnects by itself. */
  @OnWorkerEvent('error')
  onWorkerError(error: Error): void {
    this.logger.warn(`maintenance worker: ${error.message}`);
  }
}
