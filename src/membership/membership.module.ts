import { Module } from '@nestjs/common';

import { EvaluationTrigger } from './evaluation-trigger.service';
import { MembershipController } from './membership.controller';
import { MembershipRepository } from './membership.repository';
import { MembershipQueryService } from './membership-query.service';

/**
 * HTTP side of audience membership: members, transitions, compute on demand; and the nudge that
 * ingestion gives real-time evaluation after each commit (EvaluationTrigger).
 */
@Module({
  controllers: [MembershipController],
  providers: [MembershipQueryService, MembershipRepository, EvaluationTrigger],
  exports: [EvaluationTrigger],
})
export class MembershipModule {}
