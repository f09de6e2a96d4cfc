import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';

import { QueueName } from './queue-names';

const REPEAT_AFTER_MS = 30_000;

/**
 * A queue without an 'error' listener prints every Redis connection error to the console. While
 * Redis is away that is one line per reconnect attempt; one warning every 30 s says the same.
 */
@Injectable()
export class QueueErrorsService implements OnModuleInit {
  private readonly logger = new Logger('Queues');
  private lastLoggedAt = 0;

  constructor(
    @InjectQueue(QueueName.Evaluate) private readonly evaluate: Queue,
    @InjectQueue(QueueName.Compute) private readonly compute: Queue,
    @InjectQueue(QueueName.Maintenance) private readonly maintenance: Queue,
  ) {}

  onModuleInit(): void {
    for (const queue of [this.evaluate, this.compute, this.maintenance]) {
      queue.on('error', (error: Error) => this.report(queue.name, error));
    }
  }

  report(queue: string, error: Error): void {
    if (Date.now() - this.lastLoggedAt < REPEAT_AFTER_MS) return;
    this.lastLoggedAt = Date.now();
    this.logger.warn(`queue ${queue}: ${error.message} (Redis unreachable? retrying)`);
  }
}
