import { Injectable, OnModuleInit } from '@nestjs/common';

import { BatchParticipant, BatchParticipants, BatchStage, ChangedProfiles } from './batch-participants';
import { MembershipService } from './membership.service';

/** Audiences in real time: every audience of the workspace over the batch's profiles. */
@Injectable()
export class AudienceBatchParticipant implements BatchParticipant, OnModuleInit {
  readonly name = 'audiences';
  readonly stage = BatchStage.Audiences;

  constructor(
    private readonly membership: MembershipService,
    private readonly participants: BatchParticipants,
  ) {}

  onModuleInit(): void {
    this.participants.register(this);
  }

  async evaluate(batch: ChangedProfiles): Promise<Record<string, number>> {
    const outcome = await this.membership.evaluateProfiles(batch.workspaceId, [...batch.profileIds]);
    return { ...outcome };
  }
}
