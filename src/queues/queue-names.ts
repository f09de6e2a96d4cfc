/**
 * Every BullMQ queue of Personae. Values are stored in Redis keys: never rename one, only add.
 * Delivery queues are made per destination at run time (see deliveryQueueName).
 */
export enum QueueName {
  /** Real-time evaluation: one job per workspace with changed profiles, which takes them in batches. */
  Evaluate = 'evaluate',
  /** Full computation of one audience (on create/edit, on schedule, on demand). */
  Compute = 'compute',
  /** Full computation of one computed trait (on create/edit, on schedule, on demand). */
  ComputeTraits = 'compute-traits',
  /** Full computation (and the period's snapshot) of one adoption score (src/scores). */
  ComputeScores = 'compute-scores',
  /** Housekeeping job schedulers: the outbox relay, the delivery sweeper (see MaintenanceTasks). */
  Maintenance = 'maintenance',
}

export const DELIVERY_QUEUE_PREFIX = 'deliver-';

export function deliveryQueueName(destinationId: string): string {
  return `${DELIVERY_QUEUE_PREFIX}${destinationId}`;
}
