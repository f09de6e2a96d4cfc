import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every Prometheus metric of a process, in a registry of its own (several apps can share one
 * Node process in tests). Feature code records into the counters and histograms; gauges that
 * describe shared state (queues, audiences, deliveries) are filled at scrape time by OpsCollector.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'personae_http_request_duration_seconds',
    help: 'HTTP request duration by route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly eventsAccepted = new Counter({
    name: 'personae_events_accepted_total',
    help: 'Tracking events accepted (stored or deduplicated), by message type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly eventsRejected = new Counter({
    name: 'personae_events_rejected_total',
    help: 'Tracking requests refused, by reason (validation, too_large, unauthorized, rate_limited, unavailable)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly quarantinedMessages = new Counter({
    name: 'personae_quarantined_messages_total',
    help: 'Tracking messages quarantined, by kind (rejected, warning) and reason (invalid, too_large, strict, replaced_characters, future_timestamp)',
    labelNames: ['kind', 'reason'] as const,
    registers: [this.registry],
  });

  readonly ingestDuration = new Histogram({
    name: 'personae_ingest_duration_seconds',
    help: 'Time from receiving a tracking request to its events being durable in Postgres',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  readonly transitions = new Counter({
    name: 'personae_audience_transitions_total',
    help: 'Audience transitions written, by kind (entered, exited)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly deliveryDuration = new Histogram({
    name: 'personae_delivery_duration_seconds',
    help: 'Time to hand one delivery to the SMTP server or webhook receiver, by destination type and outcome',
    labelNames: ['type', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly deliveryClaimRenewals = new Counter({
    name: 'personae_delivery_claim_renewals_total',
    help: 'Delivery claims renewed because the email waited long for a free SMTP connection, by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly queueJobs = new Gauge({
    name: 'personae_queue_jobs',
    help: 'Jobs per queue and state (waiting, active, delayed, failed, completed)',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });

  readonly audienceMembers = new Gauge({
    name: 'personae_audience_members',
    help: 'Current members per audience',
    labelNames: ['workspace', 'audience'] as const,
    registers: [this.registry],
  });

  readonly audienceStaleness = new Gauge({
    name: 'personae_audience_seconds_since_computed',
    help: 'Seconds since each audience was last fully computed (-1 when never)',
    labelNames: ['workspace', 'audience'] as const,
    registers: [this.registry],
  });

  readonly deliveries = new Gauge({
    name: 'personae_deliveries',
    help: 'Deliveries per destination and status',
    labelNames: ['workspace', 'destination', 'status'] as const,
    registers: [this.registry],
  });

  readonly collections = new Counter({
    name: 'personae_metrics_collections_total',
    help: 'Times the shared gauges (queues, audiences, deliveries, outbox) were read from Redis and Postgres',
    registers: [this.registry],
  });

  readonly outboxBacklog = new Gauge({
    name: 'personae_outbox_backlog',
    help: 'Profile changes written by ingest and not yet evaluated (all workspaces)',
    registers: [this.registry],
  });

  readonly evaluatedProfiles = new Counter({
    name: 'personae_evaluated_profiles_total',
    help: 'Changed profiles evaluated in real time by this process',
    registers: [this.registry],
  });

  readonly evaluationBatchDuration = new Histogram({
    name: 'personae_evaluation_batch_duration_seconds',
    help: 'Time to evaluate one real-time batch (every participant, every audience)',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly evaluationDelay = new Histogram({
    name: 'personae_evaluation_delay_seconds',
    help: 'Time from a profile change being committed to its evaluation, by lane (live, bulk)',
    labelNames: ['lane'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  readonly evaluationBacklog = new Gauge({
    name: 'personae_evaluation_backlog',
    help: 'Profile changes not yet evaluated, per workspace and lane (live, bulk)',
    labelNames: ['workspace', 'lane'] as const,
    registers: [this.registry],
  });

  readonly evaluationLag = new Gauge({
    name: 'personae_evaluation_lag_seconds',
    help: 'Age of the oldest profile change not yet evaluated, per workspace and lane',
    labelNames: ['workspace', 'lane'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'personae_process_' });
  }
}
