import { Module } from '@nestjs/common';

import { MembershipWorkerModule } from '../membership/membership-worker.module';
import { ScoreBatchParticipant } from './score-batch-participant';
import { ScoreComputationService } from './score-computation.service';
import { ScoreComputeProcessor } from './score-compute.processor';
import { ScoreSchedulesService } from './score-schedules.service';
import { ScoreValuesRepository } from './score-values.repository';

/** Worker side of scores: full computations with snapshots, their schedules, the real-time participant. */
@Module({
  imports: [MembershipWorkerModule],
  providers: [
    ScoreValuesRepository,
    ScoreComputationService,
    ScoreSchedulesService,
    ScoreComputeProcessor,
    ScoreBatchParticipant,
  ],
})
export class ScoresWorkerModule {}
