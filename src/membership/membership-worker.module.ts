import { Module } from '@nestjs/common';
import { AudienceSchedulesService } from './audience-schedules.service';
import { ComputeProcessor } from './compute.processor';
import { EvaluateProcessor } from './evaluate.processor';
import { MembershipRepository } from './membership.repository';
import { MembershipService } from './membership.service';
import { OutboxRelayService } from './outbox-relay.service';

/** Worker side: compute and evaluate processors, the outbox relay and the refresh schedules. */
@Module({
  providers: [
    MembershipRepository,
    MembershipService,
    AudienceSchedulesService,
    OutboxRelayService,
    ComputeProcessor,
    EvaluateProcessor,
  ],
  exports: [MembershipService, AudienceSchedulesService, OutboxRelayService],
})
export class MembershipWorkerModule {}
