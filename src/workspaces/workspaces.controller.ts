import { Body, Controller, Get, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { AdminTokenGuard } from '../auth/admin-token.guard';
import { ApiTokenGuard } from '../auth/api-token.guard';
import { CurrentWorkspace } from '../auth/workspace-request';
import { IdParamDto } from '../common/id-param.dto';
import { PageQueryDto } from '../common/pagination';
import {
  CreatedWorkspaceView,
  CreateSourceDto,
  CreateWorkspaceDto,
  SourceListView,
  SourceView,
  UpdateSourceDto,
  WorkspaceView,
} from './workspaces.dto';
import { WorkspacesService } from './workspaces.service';

@ApiTags('workspaces')
@ApiBearerAuth()
@Controller('api')
export class WorkspacesController {
  constructor(private readonly workspaces: WorkspacesService) {}

  @Post('workspaces')
  @UseGuards(AdminTokenGuard)
  @ApiCreatedResponse({ type: CreatedWorkspaceView, description: 'Requires the ADMIN_TOKEN as bearer token.' })
  create(@Body() body: CreateWorkspaceDto): Promise<CreatedWorkspaceView> {
    return this.workspaces.create(body.name, body.sourceName);
  }

  @Get('workspace')
  @UseGuards(ApiTokenGuard)
  @ApiOkResponse({ type: WorkspaceView, description: 'The workspace of the API token.' })
  current(@CurrentWorkspace() workspaceId: string): Promise<WorkspaceView> {
    return this.workspaces.get(workspaceId);
  }

  @Get('sources')
  @UseGuards(ApiTokenGuard)
  @ApiOkResponse({ type: SourceListView, description: 'Oldest first, cursor-paginated' })
  listSources(@CurrentWorkspace() workspaceId: string, @Query() query: PageQueryDto): Promise<SourceListView> {
    return this.workspaces.listSources(workspaceId, query);
  }

  @Post('sources')
  @UseGuards(ApiTokenGuard)
  @ApiCreatedResponse({ type: SourceView })
  createSource(@CurrentWorkspace() workspaceId: string, @Body() body: CreateSourceDto): Promise<SourceView> {
    return this.workspaces.createSource(workspaceId, body.name, body.validation);
  }

  @Patch('sources/:id')
  @UseGuards(ApiTokenGuard)
  @ApiOkResponse({ type: SourceView })
  updateSource(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Body() body: UpdateSourceDto,
  ): Promise<SourceView> {
    return this.workspaces.updateSource(workspaceId, params.id, body);
  }
}
