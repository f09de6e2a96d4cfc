import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Job } from 'bullmq';
import { AppConfig } from '../config/app-config';
import { QueueName } from '../queues/queue-names';
import { BatchEvaluatorService, BatchOutcome } from './batch-evaluator.service';
import { EvaluateJob } from './membership-jobs';
import { EvaluateOutcome, MembershipService } from './membership.service';

/**
 * Real-time evaluation: each job is one batch of one workspace. A killed worker's job is retried
 * by another once its lock expires (lockDuration); its rows come back when their lease runs out.
 */
@Processor(QueueName.Evaluate, { concurrency: 1, lockDuration: 10_000, stalledInterval: 5_000 })
export class EvaluateProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(EvaluateProcessor.name);

  constructor(
    private readonly batches: BatchEvaluatorService,
    private readonly membership: MembershipService,
    private readonly config: AppConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.EVALUATE_CONCURRENCY;
  }

  async process(job: Job<EvaluateJob>): Promise<BatchOutcome | EvaluateOutcome> {
    const { data } = job;
    // Queued by a version before batches: the profile's outbox row is already gone, evaluate it here.
    if ('profileId' in data) return this.membership.evaluateProfiles(data.workspaceId, [data.profileId]);
    return this.batches.runBatch(data.workspaceId);
  }

  /** Connection errors (Redis restarting); the worker reconnects by itself. */
  @OnWorkerEvent('error')
  onWorkerError(error: Error): void {
    this.logger.warn(`evaluate worker: ${error.message}`);
  }
}
