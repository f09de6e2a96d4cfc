import { Global, Module } from '@nestjs/common';

import { WorkspacesRepository } from './workspaces.repository';
import { WorkspacesService } from './workspaces.service';

/** Workspace lookups every feature module needs (the API token guard is in AuthModule); no HTTP. */
@Global()
@Module({
  providers: [WorkspacesRepository, WorkspacesService],
  exports: [WorkspacesRepository, WorkspacesService],
})
export class WorkspacesCoreModule {}
