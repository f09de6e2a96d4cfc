import { Injectable, OnModuleInit } from '@nestjs/common';

import { BatchParticipant, BatchParticipants, BatchStage, ChangedProfiles } from '../membership/batch-participants';
import { TraitComputationService } from './trait-computation.service';

/**
 * Computed traits in real time: every profile-level trait of the workspace over the batch's
 * profiles, at the ComputedState stage, so the audiences evaluated next read the new values.
 */
@Injectable()
export class TraitBatchParticipant implements BatchParticipant, OnModuleInit {
  readonly name = 'computed-traits';
  readonly stage = BatchStage.ComputedState;

  constructor(
    private readonly computation: TraitComputationService,
    private readonly participants: BatchParticipants,
  ) {}

  onModuleInit(): void {
    this.participants.register(this);
  }

  async evaluate(batch: ChangedProfiles): Promise<Record<string, number>> {
    return { ...(await this.computation.evaluateProfiles(batch.workspaceId, batch.profileIds)) };
  }
}
