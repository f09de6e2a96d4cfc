import { Module } from '@nestjs/common';

import { MembershipWorkerModule } from '../membership/membership-worker.module';
import { WorkspaceSettingsRepository } from '../workspace-settings/workspace-settings.repository';
import { WorkspaceSettingsService } from '../workspace-settings/workspace-settings.service';
import { JourneyBatchParticipant } from './journey-batch-participant';
import { JourneyEngineService } from './journey-engine.service';
import { JourneyRunnerService } from './journey-runner.service';
import { JourneyRunsRepository } from './journey-runs.repository';
import { JourneyTimersService } from './journey-timers.service';

/** Worker side of journeys: the runner, its batch participant and its timer sweep. */
@Module({
  imports: [MembershipWorkerModule],
  providers: [
    JourneyRunsRepository,
    JourneyRunnerService,
    JourneyEngineService,
    JourneyBatchParticipant,
    JourneyTimersService,
    WorkspaceSettingsService,
    WorkspaceSettingsRepository,
  ],
  exports: [JourneyEngineService, JourneyTimersService],
})
export class JourneysWorkerModule {}
