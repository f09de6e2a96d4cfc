import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';

import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { DeliveryQueuesService } from '../queues/delivery-queues.service';
import { QueueName } from '../queues/queue-names';
import { MetricsService } from './metrics.service';
import { OpsRepository } from './ops.repository';

const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'] as const;

/**
 * Fills the gauges that describe shared state (queues, audiences, deliveries) when a scrape comes,
 * at most once per METRICS_COLLECT_INTERVAL_MS: scrapes in between get the gauges as they are, and
 * scrapes that arrive while a collection runs wait for that one. Forty scrapers cost what one does.
 */
@Injectable()
export class OpsCollector {
  private running?: Promise<void>;
  private startedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly repository: OpsRepository,
    private readonly deliveryQueues: DeliveryQueuesService,
    private readonly clock: Clock,
    @InjectQueue(QueueName.Evaluate) private readonly evaluate: Queue,
    @InjectQueue(QueueName.Compute) private readonly compute: Queue,
    @InjectQueue(QueueName.Maintenance) private readonly maintenance: Queue,
  ) {}

  /** Every Personae queue: the static ones and one per destination. */
  async queues(): Promise<Queue[]> {
    const destinationIds = await this.repository.destinationIds();
    return [
      this.evaluate,
      this.compute,
      this.maintenance,
      ...destinationIds.map((id) => this.deliveryQueues.queueFor(id)),
    ];
  }

  collect(): Promise<void> {
    if (this.running) return this.running;
    const now = this.clock.now().getTime();
    if (now - this.startedAt < this.config.METRICS_COLLECT_INTERVAL_MS) return Promise.resolve();
    this.startedAt = now;
    this.running = this.collectNow().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async collectNow(): Promise<void> {
    try {
      await Promise.all([
        this.collectQueues(),
        this.collectAudiences(),
        this.collectDeliveries(),
        this.collectOutbox(),
      ]);
    } catch (error) {
      // The next scrape tries again rather than serving what a failed collection left.
      this.startedAt = Number.NEGATIVE_INFINITY;
      throw error;
    }
    this.metrics.collections.inc();
  }

  private async collectQueues(): Promise<void> {
    const queues = await this.queues();
    const counts = await Promise.all(queues.map((queue) => queue.getJobCounts(...JOB_STATES)));
    this.metrics.queueJobs.reset();
    queues.forEach((queue, index) => {
      for (const state of JOB_STATES)
        this.metrics.queueJobs.set({ queue: queue.name, state }, counts[index]?.[state] ?? 0);
    });
  }

  private async collectAudiences(): Promise<void> {
    const now = this.clock.now().getTime();
    const audiences = await this.repository.audiences();
    this.metrics.audienceMembers.reset();
    this.metrics.audienceStaleness.reset();
    for (const audience of audiences) {
      const labels = { workspace: audience.workspaceId, audience: audience.key };
      this.metrics.audienceMembers.set(labels, audience.memberCount);
      const age = audience.lastComputedAt ? (now - audience.lastComputedAt.getTime()) / 1000 : -1;
      this.metrics.audienceStaleness.set(labels, age);
    }
  }

  private async collectDeliveries(): Promise<void> {
    const rows = await this.repository.deliveryCounts();
    this.metrics.deliveries.reset();
    for (const row of rows) {
      this.metrics.deliveries.set(
        { workspace: row.workspaceId, destination: row.destinationId, status: row.status },
        row.count,
      );
    }
  }

  private async collectOutbox(): Promise<void> {
    const now = this.clock.now().getTime();
    const rows = await this.repository.evaluationBacklog();
    this.metrics.outboxBacklog.set(rows.reduce((n, row) => n + row.count, 0));
    this.metrics.evaluationBacklog.reset();
    this.metrics.evaluationLag.reset();
    for (const row of rows) {
      const labels = { workspace: row.workspaceId, lane: row.lane };
      this.metrics.evaluationBacklog.set(labels, row.count);
      this.metrics.evaluationLag.set(labels, Math.max(0, (now - row.oldestAt.getTime()) / 1000));
    }
  }
}
