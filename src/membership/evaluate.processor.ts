import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Job } from 'bullmq';

import { AppConfig } from '../config/app-config';
import { QueueName } from '../queues/queue-names';
import { BatchEvaluatorService, BatchOutcome } from './batch-evaluator.service';
import { EvaluationTrigger } from './evaluation-trigger.service';
import { EvaluateJob } from './membership-jobs';
import { ProfileChangesRepository } from './profile-changes.repository';

/**
 * Real-time evaluation: each job is one batch of one workspace. A killed worker's job is retried
 * by another once its lock expires (lockDuration); its rows come back when their lease runs out.
 */
@Processor(QueueName.Evaluate, { concurrency: 1, lockDuration: 10_000, stalledInterval: 5_000 })
export class EvaluateProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(EvaluateProcessor.name);

  constructor(
    private readonly batches: BatchEvaluatorService,
    private readonly changes: ProfileChangesRepository,
    private readonly trigger: EvaluationTrigger,
    private readonly config: AppConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.EVALUATE_CONCURRENCY;
  }

  async process(job: Job<EvaluateJob>): Promise<BatchOutcome> {
    const { data } = job;
    // Queued by a version before batches, which deleted the outbox row when it queued the job:
    // the row goes back, and the profile is evaluated with the next batch of its workspace.
    if ('profileId' in data) {
      await this.changes.add(data.workspaceId, data.profileId);
      await this.trigger.enqueue([data.workspaceId]);
      return { workspaceId: data.workspaceId, changes: 0, profiles: 0, more: true, participants: {} };
    }
    return this.batches.runBatch(data.workspaceId);
  }

  /** Connection errors (Redis restarting); the worker reconnects by itself. */
  @OnWorkerEvent('error')
  onWorkerError(error: Error): void {
    this.logger.warn(`evaluate worker: ${error.message}`);
  }
}
