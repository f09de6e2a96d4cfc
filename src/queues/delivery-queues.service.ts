import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';
import { AppConfig } from '../config/app-config';
import { bullOptions } from './queue-connection';
import { deliveryQueueName } from './queue-names';

/** Payload of a job on a `deliver-<destinationId>` queue: ids only; the worker reloads the rest. */
export interface DeliveryJob {
  deliveryId: string;
}

export interface DeliveryRef {
  id: string;
  destinationId: string;
}

/**
 * Producer side of the per-destination delivery queues. BullMQ's rate limiter works per queue, so
 * each destination gets its own queue: a slow or failing destination never stalls another.
 * Jobs are idempotent by their id (the delivery id), so enqueueing twice is harmless.
 */
@Injectable()
export class DeliveryQueuesService implements OnModuleDestroy {
  private readonly queues = new Map<string, Queue<DeliveryJob>>();

  constructor(private readonly config: AppConfig) {}

  queueFor(destinationId: string): Queue<DeliveryJob> {
    let queue = this.queues.get(destinationId);
    if (!queue) {
      queue = new Queue<DeliveryJob>(deliveryQueueName(destinationId), bullOptions(this.config));
      queue.on('error', () => undefined);
      this.queues.set(destinationId, queue);
    }
    return queue;
  }

  async enqueue(deliveries: DeliveryRef[]): Promise<void> {
    const byDestination = new Map<string, string[]>();
    for (const delivery of deliveries) {
      byDestination.set(delivery.destinationId, [...(byDestination.get(delivery.destinationId) ?? []), delivery.id]);
    }
    await Promise.all(
      [...byDestination].map(([destinationId, ids]) =>
        this.queueFor(destinationId).addBulk(
          ids.map((deliveryId) => ({ name: 'deliver', data: { deliveryId }, opts: { jobId: deliveryId } })),
        ),
      ),
    );
  }

  /** Forgets a destination's queue (after the destination is deleted). */
  async release(destinationId: string): Promise<void> {
    const queue = this.queues.get(destinationId);
    this.queues.delete(destinationId);
    await queue?.close();
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}
