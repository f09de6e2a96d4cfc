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
  CreateTraitDto,
  PreviewTraitDto,
  TraitComputeView,
  TraitHistoryQueryDto,
  TraitHistoryView,
  TraitListView,
  TraitPreviewView,
  TraitView,
  UpdateTraitDto,
} from './traits.dto';
import { TraitsService } from './traits.service';

@ApiTags('computed traits')
@ApiBearerAuth()
@Controller('api/traits')
@UseGuards(ApiTokenGuard)
export class TraitsController {
  constructor(private readonly traits: TraitsService) {}

  @Post()
  @ApiOperation({ summary: 'Define a computed trait (text or AST) and start computing it' })
  @ApiCreatedResponse({ type: TraitView })
  @ApiBadRequestResponse({ description: 'Invalid definition (with line and column) or level' })
  @ApiConflictResponse({ description: 'The key is taken' })
  create(@CurrentWorkspace() workspaceId: string, @Body() body: CreateTraitDto): Promise<TraitView> {
    return this.traits.create(workspaceId, body);
  }

  @Get()
  @ApiOkResponse({ type: TraitListView })
  list(@CurrentWorkspace() workspaceId: string, @Query() query: PageQueryDto): Promise<TraitListView> {
    return this.traits.list(workspaceId, query);
  }

  // Declared before ':id' routes so "preview" is never read as an id.
  @Post('preview')
  @HttpCode(200)
  @ApiOperation({ summary: 'How many profiles would have a value now, their statistics, a sample and the SQL' })
  @ApiOkResponse({ type: TraitPreviewView })
  preview(@CurrentWorkspace() workspaceId: string, @Body() body: PreviewTraitDto): Promise<TraitPreviewView> {
    return this.traits.preview(workspaceId, body);
  }

  @Get(':id')
  @ApiOkResponse({ type: TraitView })
  @ApiNotFoundResponse()
  get(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<TraitView> {
    return this.traits.get(workspaceId, params.id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change name, definition or refresh interval' })
  @ApiOkResponse({ type: TraitView })
  @ApiNotFoundResponse()
  update(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Body() body: UpdateTraitDto,
  ): Promise<TraitView> {
    return this.traits.update(workspaceId, params.id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'Audiences read it; the answer names them' })
  async delete(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<void> {
    await this.traits.delete(workspaceId, params.id);
  }

  @Post(':id/compute')
  @HttpCode(202)
  @ApiOperation({ summary: 'Compute every value again now' })
  @ApiOkResponse({ type: TraitComputeView })
  @ApiNotFoundResponse()
  compute(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<TraitComputeView> {
    return this.traits.compute(workspaceId, params.id);
  }

  @Get(':id/history')
  @ApiOperation({ summary: 'Changes of values (old, new, at), oldest first; ?profileId= for one profile' })
  @ApiOkResponse({ type: TraitHistoryView })
  @ApiNotFoundResponse()
  history(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Query() query: TraitHistoryQueryDto,
  ): Promise<TraitHistoryView> {
    return this.traits.history(workspaceId, params.id, query);
  }
}
