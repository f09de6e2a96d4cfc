/**
 * Every BullMQ queue of Personae. Values are stored in Redis keys: never rename one, only add.
 * Delivery queues are made per destination at run time (see deliveryQueueName).
 */
export enum QueueName {
  /** Re-evaluate the audiences of profiles that changed (fed by the outbox relay). */
  Evaluate = 'evaluate',
  /** Full computation of one audience (on create/edit, on schedule, on demand). */
  Compute = 'compute',
  /** Housekeeping: outbox relay ticks, delivery sweeper. */
  Maintenance = 'maintenance',
}

export const DELIVERY_QUEUE_PREFIX = 'deliver-';

export function deliveryQueueName(destinationId: string): string {
  return `${DELIVERY_QUEUE_PREFIX}${destinationId}`;
}
