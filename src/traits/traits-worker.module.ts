import { Module } from '@nestjs/common';

import { MembershipWorkerModule } from '../membership/membership-worker.module';
import { TraitBatchParticipant } from './trait-batch-participant';
import { TraitComputationService } from './trait-computation.service';
import { TraitComputeProcessor } from './trait-compute.processor';
import { TraitSchedulesService } from './trait-schedules.service';
import { TraitValuesRepository } from './trait-values.repository';

/** Worker side of computed traits: full computations, their schedules, the real-time participant. */
@Module({
  imports: [MembershipWorkerModule],
  providers: [
    TraitValuesRepository,
    TraitComputationService,
    TraitSchedulesService,
    TraitComputeProcessor,
    TraitBatchParticipant,
  ],
  exports: [TraitComputationService],
})
export class TraitsWorkerModule {}
