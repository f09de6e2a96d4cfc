import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';

import { ComputationTimeoutError } from '../membership/membership.errors';
import { QueueName } from '../queues/queue-names';
import { ScoreComputationService, ScoreComputeOutcome } from './score-computation.service';
import { ComputeScoreJob } from './score-jobs';
import { ScoreValuesRepository } from './score-values.repository';
import { ScoreDefinitionError } from './scores.errors';

/**
 * Full computations of scores. A killed worker's job is taken over once its lock expires; the
 * interrupted transaction left the previous values (and snapshots) as they were.
 */
@Processor(QueueName.ComputeScores, { concurrency: 1, lockDuration: 10_000, stalledInterval: 5_000 })
export class ScoreComputeProcessor extends WorkerHost {
  private readonly logger = new Logger(ScoreComputeProcessor.name);

  constructor(
    private readonly computation: ScoreComputationService,
    private readonly repository: ScoreValuesRepository,
  ) {
    super();
  }

  async process(job: Job<ComputeScoreJob>): Promise<ScoreComputeOutcome> {
    const { workspaceId, scoreId } = job.data;
    try {
      return await this.computation.compute(job.data);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const permanent = error instanceof ScoreDefinitionError || error instanceof ComputationTimeoutError;
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (permanent || lastAttempt) {
        // The score shows why; the job still fails so that it is visible in the queue dashboard.
        await this.repository.markFailed(workspaceId, scoreId, message);
        this.logger.error(`computing score ${scoreId} failed: ${message}`);
      }
      if (permanent) throw new UnrecoverableError(message);
      throw error;
    }
  }

  @OnWorkerEvent('error')
  onWorkerError(error: Error): void {
    this.logger.warn(`score compute worker: ${error.message}`);
  }
}
