import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { QueueName } from '../queues/queue-names';
import { EvaluateProfileJob } from './membership-jobs';
import { EvaluateOutcome, MembershipService } from './membership.service';

/** Incremental evaluation of one changed profile; failures are retried by BullMQ (the job is idempotent). */
@Processor(QueueName.Evaluate, { concurrency: 4 })
export class EvaluateProcessor extends WorkerHost {
  private readonly logger = new Logger(EvaluateProcessor.name);

  constructor(private readonly membership: MembershipService) {
    super();
  }

  async process(job: Job<EvaluateProfileJob>): Promise<EvaluateOutcome> {
    return this.membership.evaluateProfiles(job.data.workspaceId, [job.data.profileId]);
  }

  /** Connection errors (Redis restarting); the worker reconnects by itself. */
  @OnWorkerEvent('error')
  onWorkerError(error: Error): void {
    this.logger.warn(`evaluate worker: ${error.message}`);
  }
}
