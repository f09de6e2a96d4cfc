import { Module } from '@nestjs/common';

import { WorkspaceSettingsController } from './workspace-settings.controller';
import { WorkspaceSettingsRepository } from './workspace-settings.repository';
import { WorkspaceSettingsService } from './workspace-settings.service';

/** `GET/PATCH /api/workspace/settings`, and the settings ingestion reads with every write key. */
@Module({
  controllers: [WorkspaceSettingsController],
  providers: [WorkspaceSettingsService, WorkspaceSettingsRepository],
  exports: [WorkspaceSettingsService],
})
export class WorkspaceSettingsModule {}
