import { createHash } from 'node:crypto';

import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';

import { AppConfig } from '../config/app-config';
import { bullOptions } from './queue-connection';
import { deliveryQueueName } from './queue-names';

/**
 * Payload of a job on a `deliver-<destinationId>` queue: ids only; the worker reloads the rest.
 * One delivery (job id = delivery id) or several enqueued together (a batch): the per-job cost of
 * BullMQ is paid once for the batch instead of once per email.
 */
export type DeliveryJob = { deliveryId: string } | { deliveryIds: string[] };

export interface DeliveryRef {
  id: string;
  destinationId: string;
}

/** A delivery to put on its queue alone, no earlier than `at` (epoch ms) when given. */
export interface SingleDelivery {
  id: string;
  at?: number;
}

/**
 * Deliveries of one destination enqueued together go in jobs of at most this many. Together with
 * the worker's job concurrency it bounds how many claims are held while waiting for an SMTP
 * connection (see delivery-workers.service.ts).
 */
export const DELIVERIES_PER_JOB = 50;

export function deliveryIdsOf(job: DeliveryJob): string[] {
  return 'deliveryIds' in job ? job.deliveryIds : [job.deliveryId];
}

/**
 * A single delivery's job id is the delivery id (the sweeper looks jobs up by it); a batch's is
 * derived from its ids, so enqueueing the same batch twice adds it once.
 */
export function deliveryJobId(ids: string[]): string {
  if (ids.length === 1) return ids[0] as string;
  return `batch-${createHash('sha256').update(ids.join(',')).digest('hex').slice(0, 32)}`;
}

function jobFor(ids: string[]): { name: string; data: DeliveryJob; opts: { jobId: string } } {
  const data: DeliveryJob = ids.length === 1 ? { deliveryId: ids[0] as string } : { deliveryIds: ids };
  return { name: 'deliver', data, opts: { jobId: deliveryJobId(ids) } };
}

/** The deliveries' ids by a key, in the order they come. */
function idsBy<T extends { id: string }, K>(deliveries: T[], key: (delivery: T) => K): Map<K, string[]> {
  const groups = new Map<K, string[]>();
  for (const delivery of deliveries) {
    const k = key(delivery);
    const ids = groups.get(k);
    if (ids) ids.push(delivery.id);
    else groups.set(k, [delivery.id]);
  }
  return groups;
}

/** Ids in runs of DELIVERIES_PER_JOB, a job's worth each. */
function perJob(ids: string[]): string[][] {
  const runs: string[][] = [];
  for (let i = 0; i < ids.length; i += DELIVERIES_PER_JOB) runs.push(ids.slice(i, i + DELIVERIES_PER_JOB));
  return runs;
}

/**
 * jobFor, delayed until `at` (epoch ms) when that is later than `now`. A batch due at a time is
 * named by that time too: the job whose attempt failed it, with the same ids, is still running
 * when it adds the retry, and a job of the same name would be dropped as a duplicate of it.
 */
function dueJobFor(ids: string[], at: number | undefined, now: number) {
  const job = jobFor(ids);
  const jobId = ids.length > 1 && at !== undefined ? `${job.opts.jobId}-at${at}` : job.opts.jobId;
  return { ...job, opts: { jobId, ...(at !== undefined && at > now && { delay: at - now }) } };
}

/**
 * Producer side of the per-destination delivery queues. BullMQ's rate limiter works per queue, so
 * each destination gets its own queue: a slow or failing destination never stalls another.
 * Jobs are idempotent by their id, so enqueueing twice is harmless; the claim in Postgres keeps a
 * delivery that ends up in two jobs from being sent twice.
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

  /** Deliveries written together: one job per DELIVERIES_PER_JOB of the same destination. */
  async enqueue(deliveries: DeliveryRef[]): Promise<void> {
    await Promise.all(
      [...idsBy(deliveries, (d) => d.destinationId)].map(([destinationId, ids]) =>
        this.queueFor(destinationId).addBulk(perJob(ids).map(jobFor)),
      ),
    );
  }

  /**
   * One job per delivery (retries, rechecks, deliveries the sweeper found, a batch split up for a
   * rate-limited destination), each with its delivery id as job id: a delivery that already has
   * a waiting or delayed job of its own keeps that one.
   */
  async enqueueSingles(destinationId: string, deliveries: SingleDelivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    const now = Date.now();
    await this.queueFor(destinationId).addBulk(deliveries.map(({ id, at }) => dueJobFor([id], at, now)));
  }

  /**
   * Deliveries due again at the same moment (the transition batches of one failed request) share
   * jobs, DELIVERIES_PER_JOB at most, delayed until then: they are claimed together again and meet
   * in one request, as they failed in one.
   */
  async enqueueDueTogether(destinationId: string, deliveries: SingleDelivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    const now = Date.now();
    const jobs = [...idsBy(deliveries, (d) => d.at)].flatMap(([at, ids]) =>
      perJob(ids).map((chunk) => dueJobFor(chunk, at, now)),
    );
    await this.queueFor(destinationId).addBulk(jobs);
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
