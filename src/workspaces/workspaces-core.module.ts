import { Global, Module } from '@nestjs/common';
import { ApiTokenGuard } from '../auth/api-token.guard';
import { WorkspacesRepository } from './workspaces.repository';
import { WorkspacesService } from './workspaces.service';

/** Workspace lookups every feature module needs (the API token guard among them); no HTTP. */
@Global()
@Module({
  providers: [WorkspacesRepository, WorkspacesService, ApiTokenGuard],
  exports: [WorkspacesRepository, WorkspacesService, ApiTokenGuard],
})
export class WorkspacesCoreModule {}
