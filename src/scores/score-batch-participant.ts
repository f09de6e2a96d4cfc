import { Injectable, OnModuleInit } from '@nestjs/common';

import { BatchParticipant, BatchParticipants, BatchStage, ChangedProfiles } from '../membership/batch-participants';
import { ScoreComputationService } from './score-computation.service';

/**
 * Scores in real time: every score of the workspace over the batch's profiles (or their accounts),
 * at the ComputedState stage after computed traits ("computed-traits" sorts before "scores"), so
 * components read the batch's new trait values and the audiences evaluated next the new scores.
 */
@Injectable()
export class ScoreBatchParticipant implements BatchParticipant, OnModuleInit {
  readonly name = 'scores';
  readonly stage = BatchStage.ComputedState;

  constructor(
    private readonly computation: ScoreComputationService,
    private readonly participants: BatchParticipants,
  ) {}

  onModuleInit(): void {
    this.participants.register(this);
  }

  async evaluate(batch: ChangedProfiles): Promise<Record<string, number>> {
    return { ...(await this.computation.evaluateProfiles(batch.workspaceId, batch.profileIds)) };
  }
}
