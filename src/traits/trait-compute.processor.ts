import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';

import { ComputationTimeoutError } from '../membership/membership.errors';
import { QueueName } from '../queues/queue-names';
import { TraitComputationService, TraitComputeOutcome } from './trait-computation.service';
import { ComputeTraitJob } from './trait-jobs';
import { TraitValuesRepository } from './trait-values.repository';
import { TraitDefinitionError } from './traits.errors';

/**
 * Full computations of computed traits. A killed worker's job is taken over once its lock expires;
 * the interrupted transaction left the previous values as they were.
 */
@Processor(QueueName.ComputeTraits, { concurrency: 1, lockDuration: 10_000, stalledInterval: 5_000 })
export class TraitComputeProcessor extends WorkerHost {
  private readonly logger = new Logger(TraitComputeProcessor.name);

  constructor(
    private readonly computation: TraitComputationService,
    private readonly repository: TraitValuesRepository,
  ) {
    super();
  }

  async process(job: Job<ComputeTraitJob>): Promise<TraitComputeOutcome> {
    const { workspaceId, traitId } = job.data;
    try {
      return await this.computation.compute(job.data);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const permanent = error instanceof TraitDefinitionError || error instanceof ComputationTimeoutError;
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (permanent || lastAttempt) {
        // The trait shows why; the job still fails so that it is visible in the queue dashboard.
        await this.repository.markFailed(workspaceId, traitId, message);
        this.logger.error(`computing trait ${traitId} failed: ${message}`);
      }
      if (permanent) throw new UnrecoverableError(message);
      throw error;
    }
  }

  @OnWorkerEvent('error')
  onWorkerError(error: Error): void {
    this.logger.warn(`trait compute worker: ${error.message}`);
  }
}
