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
  CreateScoreDto,
  DistributionQueryDto,
  ScoreComputeView,
  ScoreDistributionView,
  ScoreExplainView,
  ScoreHistoryView,
  ScoreListView,
  ScoreView,
  SubjectQueryDto,
  UpdateScoreDto,
} from './scores.dto';
import { ScoresService } from './scores.service';

@ApiTags('scores')
@ApiBearerAuth()
@Controller('api/scores')
@UseGuards(ApiTokenGuard)
export class ScoresController {
  constructor(private readonly scores: ScoresService) {}

  @Post()
  @ApiOperation({ summary: 'Define an adoption score (components, bands, snapshot period) and start computing it' })
  @ApiCreatedResponse({ type: ScoreView })
  @ApiBadRequestResponse({ description: 'A field is invalid; conditions with line and column' })
  @ApiConflictResponse({ description: 'The key (or its band key) is taken by a score or a computed trait' })
  create(@CurrentWorkspace() workspaceId: string, @Body() body: CreateScoreDto): Promise<ScoreView> {
    return this.scores.create(workspaceId, body);
  }

  @Get()
  @ApiOkResponse({ type: ScoreListView })
  list(@CurrentWorkspace() workspaceId: string, @Query() query: PageQueryDto): Promise<ScoreListView> {
    return this.scores.list(workspaceId, query);
  }

  @Get(':id')
  @ApiOkResponse({ type: ScoreView })
  @ApiNotFoundResponse()
  get(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<ScoreView> {
    return this.scores.get(workspaceId, params.id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change name, components, bands, snapshot period or refresh interval' })
  @ApiOkResponse({ type: ScoreView })
  @ApiNotFoundResponse()
  update(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Body() body: UpdateScoreDto,
  ): Promise<ScoreView> {
    return this.scores.update(workspaceId, params.id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'Audiences read it; the answer names them' })
  async delete(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<void> {
    await this.scores.delete(workspaceId, params.id);
  }

  @Post(':id/compute')
  @HttpCode(202)
  @ApiOperation({ summary: "Compute everyone's score again now (and record this period's snapshot if not yet)" })
  @ApiOkResponse({ type: ScoreComputeView })
  @ApiNotFoundResponse()
  compute(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<ScoreComputeView> {
    return this.scores.compute(workspaceId, params.id);
  }

  @Get(':id/explain')
  @ApiOperation({ summary: 'Which components hold for one profile (?profileId=) or account (?accountId=)' })
  @ApiOkResponse({ type: ScoreExplainView })
  @ApiNotFoundResponse()
  explain(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Query() query: SubjectQueryDto,
  ): Promise<ScoreExplainView> {
    return this.scores.explain(workspaceId, params.id, query);
  }

  @Get(':id/history')
  @ApiOperation({ summary: "One profile's or account's recorded scores, one per period" })
  @ApiOkResponse({ type: ScoreHistoryView })
  @ApiNotFoundResponse()
  history(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Query() query: SubjectQueryDto,
  ): Promise<ScoreHistoryView> {
    return this.scores.history(workspaceId, params.id, query);
  }

  @Get(':id/distribution')
  @ApiOperation({ summary: 'How many were in each band, per recorded period starting in [from, to)' })
  @ApiOkResponse({ type: ScoreDistributionView })
  @ApiNotFoundResponse()
  distribution(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Query() query: DistributionQueryDto,
  ): Promise<ScoreDistributionView> {
    return this.scores.distribution(workspaceId, params.id, query);
  }
}
