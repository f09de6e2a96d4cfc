import { Module } from '@nestjs/common';
import { MembershipController } from './membership.controller';
import { MembershipQueryService } from './membership-query.service';
import { MembershipRepository } from './membership.repository';

/** HTTP side of audience membership: members, transitions, compute on demand. */
@Module({
  controllers: [MembershipController],
  providers: [MembershipQueryService, MembershipRepository],
})
export class MembershipModule {}
