import { Injectable, OnModuleInit } from '@nestjs/common';

import { BatchParticipant, BatchParticipants, BatchStage, ChangedProfiles } from '../membership/batch-participants';
import { JourneyEngineService } from './journey-engine.service';

/**
 * Journeys in real time, after the audiences of the same batch: entries and exits their
 * transitions just wrote, goals reached and wait conditions met by the batch's profiles.
 */
@Injectable()
export class JourneyBatchParticipant implements BatchParticipant, OnModuleInit {
  readonly name = 'journeys';
  readonly stage = BatchStage.Reactions;

  constructor(
    private readonly engine: JourneyEngineService,
    private readonly participants: BatchParticipants,
  ) {}

  onModuleInit(): void {
    this.participants.register(this);
  }

  evaluate(batch: ChangedProfiles): Promise<Record<string, number>> {
    return this.engine.onProfilesChanged(batch.workspaceId, batch.profileIds);
  }
}
