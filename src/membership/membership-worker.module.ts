import { Module } from '@nestjs/common';

import { AudienceBatchParticipant } from './audience-batch-participant';
import { AudienceSchedulesService } from './audience-schedules.service';
import { BatchEvaluatorService } from './batch-evaluator.service';
import { BatchParticipants } from './batch-participants';
import { ComputeProcessor } from './compute.processor';
import { EvaluateProcessor } from './evaluate.processor';
import { EvaluationTrigger } from './evaluation-trigger.service';
import { MembershipRepository } from './membership.repository';
import { MembershipService } from './membership.service';
import { OutboxRelayService } from './outbox-relay.service';
import { ProfileChangesRepository } from './profile-changes.repository';

/**
 * Worker side: full computations, batched real-time evaluation (its participants registry, with
 * audiences as the first participant), the outbox relay and the refresh schedules.
 */
@Module({
  providers: [
    MembershipRepository,
    ProfileChangesRepository,
    MembershipService,
    AudienceSchedulesService,
    BatchParticipants,
    AudienceBatchParticipant,
    BatchEvaluatorService,
    EvaluationTrigger,
    OutboxRelayService,
    ComputeProcessor,
    EvaluateProcessor,
  ],
  exports: [
    MembershipService,
    AudienceSchedulesService,
    OutboxRelayService,
    BatchParticipants,
    BatchEvaluatorService,
    ProfileChangesRepository,
  ],
})
export class MembershipWorkerModule {}
