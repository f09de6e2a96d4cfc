import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';

import { ApiTokenGuard } from '../auth/api-token.guard';
import { CurrentWorkspace } from '../auth/workspace-request';
import { IdParamDto } from '../common/id-param.dto';
import { PageQueryDto } from '../common/pagination';
import {
  AudienceExplainView,
  AudienceListView,
  AudiencePreviewView,
  AudienceView,
  CreateAudienceDto,
  PreviewAudienceDto,
  UpdateAudienceDto,
} from './audiences.dto';
import { AudiencesService } from './audiences.service';

@ApiTags('audiences')
@ApiBearerAuth()
@Controller('api/audiences')
@UseGuards(ApiTokenGuard)
export class AudiencesController {
  constructor(private readonly audiences: AudiencesService) {}

  @Post()
  @ApiOperation({ summary: 'Define an audience (text or AST) and start computing it' })
  @ApiCreatedResponse({ type: AudienceView })
  @ApiBadRequestResponse({ description: 'Invalid definition (with line and column), unknown audience, cycle' })
  @ApiConflictResponse({ description: 'The key is taken' })
  create(@CurrentWorkspace() workspaceId: string, @Body() body: CreateAudienceDto): Promise<AudienceView> {
    return this.audiences.create(workspaceId, body);
  }

  @Get()
  @ApiOperation({ summary: 'Audiences of the workspace by key, cursor-paginated' })
  @ApiOkResponse({ type: AudienceListView })
  list(@CurrentWorkspace() workspaceId: string, @Query() query: PageQueryDto): Promise<AudienceListView> {
    return this.audiences.list(workspaceId, query);
  }

  // Declared before ':id' routes so "preview" is never read as an id.
  @Post('preview')
  @HttpCode(200)
  @ApiOperation({ summary: 'Count and sample of a definition as of now, and its SQL, without saving it' })
  @ApiOkResponse({ type: AudiencePreviewView })
  preview(@CurrentWorkspace() workspaceId: string, @Body() body: PreviewAudienceDto): Promise<AudiencePreviewView> {
    return this.audiences.preview(workspaceId, body);
  }

  @Get(':id')
  @ApiOkResponse({ type: AudienceView })
  @ApiNotFoundResponse()
  get(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<AudienceView> {
    return this.audiences.get(workspaceId, params.id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change name, definition, includeHistoricalData or refresh interval' })
  @ApiOkResponse({ type: AudienceView })
  @ApiNotFoundResponse()
  update(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Body() body: UpdateAudienceDto,
  ): Promise<AudienceView> {
    return this.audiences.update(workspaceId, params.id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'Other audiences refer to it; the answer names them' })
  async delete(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<void> {
    await this.audiences.delete(workspaceId, params.id);
  }

  @Get(':id/explain')
  @ApiOperation({ summary: 'The SQL of the audience as of now and its EXPLAIN (FORMAT JSON) plan' })
  @ApiOkResponse({ type: AudienceExplainView })
  @ApiNotFoundResponse()
  explain(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<AudienceExplainView> {
    return this.audiences.explain(workspaceId, params.id);
  }
}
