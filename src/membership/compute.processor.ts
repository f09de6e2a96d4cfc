import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';

import { AppConfig } from '../config/app-config';
import { QueueName } from '../queues/queue-names';
import { AudienceDefinitionError, ComputationTimeoutError } from './membership.errors';
import { MembershipRepository } from './membership.repository';
import { ComputeOutcome, MembershipService } from './membership.service';
import { ComputeAudienceJob } from './membership-jobs';

/**
 * Full computations. A killed worker's job is taken over by another once its lock expires
 * (lockDuration), and the interrupted transaction left the previous membership intact.
 * COMPUTE_CONCURRENCY computations run at once per worker process.
 */
@Processor(QueueName.Compute, { concurrency: 1, lockDuration: 10_000, stalledInterval: 5_000 })
export class ComputeProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(ComputeProcessor.name);

  constructor(
    private readonly membership: MembershipService,
    private readonly repository: MembershipRepository,
    private readonly config: AppConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.COMPUTE_CONCURRENCY;
  }

  async process(job: Job<ComputeAudienceJob>): Promise<ComputeOutcome> {
    const { workspaceId, audienceId } = job.data;
    try {
      return await this.membership.compute(job.data);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // Retrying a timeout at once would only take as long again; a later refresh, edit or manual
      // computation tries again.
      const permanent = error instanceof AudienceDefinitionError || error instanceof ComputationTimeoutError;
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (permanent || lastAttempt) {
        // The audience shows why; the job still fails so that it is visible in the queue dashboard.
        await this.repository.markFailed(workspaceId, audienceId, message);
        this.logger.error(`computing audience ${audienceId} failed: ${message}`);
      }
      if (permanent) throw new UnrecoverableError(message);
      throw error;
    }
  }

  /** Connection errors (Redis restarting); the worker reconnects by itself. */
  @OnWorkerEvent('error')
  onWorkerError(error: Error): void {
    this.logger.warn(`compute worker: ${error.message}`);
  }
}
