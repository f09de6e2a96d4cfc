import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Job, Worker } from 'bullmq';

import { AppConfig } from '../config/app-config';
import { DELIVERIES_PER_JOB, DeliveryJob, DeliveryQueuesService } from '../queues/delivery-queues.service';
import { bullOptions } from '../queues/queue-connection';
import { deliveryQueueName } from '../queues/queue-names';
import { WorkerRegistry } from '../queues/worker-registry.service';
import { DeliveryProcessor, DeliveryQueueContext } from './delivery.processor';
import { DeliveryRepository, WorkerDestination } from './delivery.repository';
import { DEFAULT_MAX_CONNECTIONS, EmailConfig } from './destination-config';
import { EmailSender } from './email-sender';
import { SegmentSender } from './segment-sender';
import { SlackSender } from './slack-sender';

/** How often the destinations table is read for destinations that came, went or changed. */
export const DESTINATION_POLL_MS = 1_000;

/**
 * How many deliveries a destination has in flight (AppConfig):
 * - `deliveriesPerConnection` (EMAIL_DELIVERIES_PER_CONNECTION): emails claimed and waiting for, or
 *   in, an SMTP transaction, per pooled connection. Enough to keep every connection busy while
 *   other jobs wait on Redis and Postgres; on a slow server the last of them renew their claims
 *   when their turn comes (SendGate).
 * - `webhookConcurrency` (WEBHOOK_CONCURRENCY): webhook requests at once.
 */
/** Batch jobs a segment destination works on at once (see workerShape). */
const SEGMENT_JOBS_IN_FLIGHT = 50;

export interface DeliveryConcurrency {
  deliveriesPerConnection: number;
  webhookConcurrency: number;
}

interface Running {
  worker: Worker<DeliveryJob>;
  /** What the worker was built from; a change rebuilds it. */
  shape: string;
  version: number;
}

interface WorkerShape {
  concurrency: number;
  rate: number | null;
  /** Batches are taken apart into one job per delivery (see DeliveryQueueContext). */
  splitBatches: boolean;
  /** Its deliveries may be transition batches (see DeliveryQueueContext). */
  transitionBatches: boolean;
  shape: string;
}

/**
 * An email destination without a rate limit takes batches as they come: jobs of up to
 * DELIVERIES_PER_JOB deliveries, as many at once as keep `deliveriesPerConnection` per connection
 * in flight. A rate-limited one (BullMQ's limiter counts jobs) and a webhook (one request per
 * job, `webhookConcurrency` at once) work one delivery per job. Segment and Slack destinations
 * take batch jobs whole (their senders turn them into few requests) unless rate-limited.
 */
export function workerShape(
  destination: Pick<WorkerDestination, 'type' | 'config' | 'rateLimitPerSecond'>,
  { deliveriesPerConnection, webhookConcurrency }: DeliveryConcurrency,
): WorkerShape {
  const rate = destination.rateLimitPerSecond;
  let concurrency: number;
  let splitBatches: boolean;
  if (destination.type === 'email') {
    const connections = (destination.config as EmailConfig).maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    splitBatches = rate !== null;
    concurrency = splitBatches
      ? connections * deliveriesPerConnection
      : Math.max(2, Math.ceil((connections * deliveriesPerConnection) / DELIVERIES_PER_JOB));
  } else if (destination.type === 'webhook') {
    splitBatches = true;
    concurrency = webhookConcurrency;
  } else {
    // segment and slack: the sender gathers deliveries attempted together into one request, so
    // batch jobs stay whole unless a limiter has to count deliveries (see DeliveryQueueContext).
    // Jobs of 50, SEGMENT_JOBS_IN_FLIGHT of them: 2,500 transitions claimed at once, two full
    // /v1/batch requests' worth, so that one request is posted while the next fills (bench:sync,
    // segment row).
    splitBatches = rate !== null;
    // Slack keeps twice the webhook concurrency: it takes about a message (50 lines) a second, and
    // what is claimed must be posted within the claim.
    const batchJobs = destination.type === 'segment' ? SEGMENT_JOBS_IN_FLIGHT : webhookConcurrency * 2;
    concurrency = splitBatches ? webhookConcurrency : batchJobs;
  }
  return {
    concurrency,
    rate,
    splitBatches,
    transitionBatches: destination.type === 'segment',
    shape: `${concurrency}/${rate ?? '-'}/${splitBatches ? 'split' : 'batch'}`,
  };
}

/**
 * BullMQ's limiter counts jobs in fixed windows. `rate` jobs per 1 s window lets a whole second's
 * worth go out in a burst at the end of one window and the next at the start of the following
 * one, twice the rate over a sliding second, which is how providers measure. Smaller windows
 * (at most 20 a second) spread the same rate evenly.
 */
export function evenLimiter(rate: number): { max: number; duration: number } {
  const max = Math.max(1, Math.ceil(rate / 20));
  return { max, duration: Math.round((1_000 * max) / rate) };
}

/**
 * One BullMQ Worker per destination, on that destination's own queue with its own rate limiter,
 * so a slow or failing destination only ever holds up itself. Workers follow the destinations
 * table: started at boot, started for new destinations within a poll, rebuilt when the rate limit
 * or pool size changes, closed (with their SMTP pool) when the destination is deleted.
 */
@Injectable()
export class DeliveryWorkersService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeliveryWorkersService.name);
  private readonly workers = new Map<string, Running>();
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly config: AppConfig,
    private readonly repository: DeliveryRepository,
    private readonly processor: DeliveryProcessor,
    private readonly email: EmailSender,
    private readonly segment: SegmentSender,
    private readonly slack: SlackSender,
    private readonly queues: DeliveryQueuesService,
    private readonly registry: WorkerRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), DESTINATION_POLL_MS);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.refreshing;
    await Promise.all([...this.workers.keys()].map((id) => this.stop(id)));
  }

  /** Destination ids served right now (for tests and the health of the worker role). */
  served(): string[] {
    return [...this.workers.keys()];
  }

  private async tick(): Promise<void> {
    if (this.refreshing || this.stopped) return;
    this.refreshing = this.refresh().catch((error: unknown) =>
      this.logger.error(
        `could not refresh delivery workers: ${error instanceof Error ? error.message : String(error)}`,
      ),
    );
    await this.refreshing;
    this.refreshing = undefined;
  }

  private async refresh(): Promise<void> {
    const destinations = await this.repository.destinations();
    const seen = new Set<string>();
    for (const destination of destinations) {
      if (this.stopped) return;
      seen.add(destination.id);
      const version = destination.updatedAt.getTime();
      // A changed destination gets a new SMTP pool on its next message; the old pool is closed now.
      this.email.release(destination.id, version);
      const shape = workerShape(destination, {
        deliveriesPerConnection: this.config.EMAIL_DELIVERIES_PER_CONNECTION,
        webhookConcurrency: this.config.WEBHOOK_CONCURRENCY,
      });
      const running = this.workers.get(destination.id);
      if (running?.shape === shape.shape) {
        running.version = version;
        continue;
      }
      if (running) await this.stop(destination.id);
      this.start(destination.id, shape, version);
    }
    for (const id of [...this.workers.keys()]) {
      if (!seen.has(id)) {
        await this.stop(id);
        this.email.release(id);
        this.segment.release(id);
        this.slack.release(id);
      }
    }
  }

  private start(
    destinationId: string,
    { concurrency, rate, splitBatches, transitionBatches, shape }: WorkerShape,
    version: number,
  ): void {
    const { prefix, connection } = bullOptions(this.config);
    const context: DeliveryQueueContext = {
      destinationId,
      splitBatches,
      transitionBatches,
      pause: (ms) => this.queues.queueFor(destinationId).rateLimit(ms),
    };
    const worker = new Worker<DeliveryJob>(
      deliveryQueueName(destinationId),
      (job: Job<DeliveryJob>, token?: string) => this.processor.process(job, token, context),
      {
        prefix,
        connection,
        concurrency,
        ...(rate !== null && { limiter: evenLimiter(rate) }),
        // A killed worker's jobs go back to wait within ~20 s; the Postgres claim keeps them from
        // being sent twice if the worker was only slow.
        lockDuration: 15_000,
        stalledInterval: 5_000,
        maxStalledCount: 10,
      },
    );
    worker.on('error', (error) => this.logger.warn(`delivery worker ${destinationId}: ${error.message}`));
    worker.on('failed', (job, error) =>
      this.logger.error(`delivery job ${job?.id ?? '?'} of destination ${destinationId} failed: ${error.message}`),
    );
    this.workers.set(destinationId, { worker, shape, version });
    // Registered so that the database watchdog pauses it while Postgres is down.
    this.registry.register(worker);
  }

  private async stop(destinationId: string): Promise<void> {
    const running = this.workers.get(destinationId);
    this.workers.delete(destinationId);
    if (running) this.registry.unregister(running.worker);
    await running?.worker.close();
  }
}
