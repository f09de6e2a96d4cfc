import { Body, Controller, Get, Patch, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { ApiTokenGuard } from '../auth/api-token.guard';
import { CurrentWorkspace } from '../auth/workspace-request';
import { workspaceSettingsJsonSchema } from './workspace-settings';
import { WorkspaceSettingsService, WorkspaceSettingsView } from './workspace-settings.service';

const problemsSchema = {
  type: 'array',
  description: 'Stored values that do not fit their schema; their defaults are in use until fixed.',
  items: { type: 'object', properties: { field: { type: 'string' }, reason: { type: 'string' } } },
};

const viewSchema = {
  type: 'object',
  properties: { settings: workspaceSettingsJsonSchema('effective'), problems: problemsSchema },
};

@ApiTags('workspaces')
@ApiBearerAuth()
@UseGuards(ApiTokenGuard)
@Controller('api/workspace/settings')
export class WorkspaceSettingsController {
  constructor(private readonly settings: WorkspaceSettingsService) {}

  @Get()
  @ApiOkResponse({ schema: viewSchema, description: 'Every setting of the workspace, defaults filled in.' })
  get(@CurrentWorkspace() workspaceId: string): Promise<WorkspaceSettingsView> {
    return this.settings.get(workspaceId);
  }

  @Patch()
  @ApiBody({
    schema: workspaceSettingsJsonSchema('patch'),
    description: 'Sections and settings to change; absent ones stay, null resets one to its default.',
  })
  @ApiOkResponse({ schema: viewSchema, description: 'The settings after the change, defaults filled in.' })
  update(
    @CurrentWorkspace() workspaceId: string,
    @Body() patch: Record<string, unknown>,
  ): Promise<WorkspaceSettingsView> {
    return this.settings.update(workspaceId, patch);
  }
}
