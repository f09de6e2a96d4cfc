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
import { JourneyReportService } from './journey-report.service';
import {
  CreateJourneyDto,
  JourneyListView,
  JourneyReportView,
  JourneyView,
  RunListView,
  RunsQueryDto,
  UpdateJourneyDto,
} from './journeys.dto';
import { JourneysService } from './journeys.service';

@ApiTags('journeys')
@ApiBearerAuth()
@Controller('api/journeys')
@UseGuards(ApiTokenGuard)
export class JourneysController {
  constructor(
    private readonly journeys: JourneysService,
    private readonly reports: JourneyReportService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Define a journey (a draft until activated)' })
  @ApiCreatedResponse({ type: JourneyView })
  @ApiBadRequestResponse({ description: 'Invalid definition; every problem names its path (steps[3].next)' })
  @ApiConflictResponse({ description: 'The key is taken' })
  create(@CurrentWorkspace() workspaceId: string, @Body() body: CreateJourneyDto): Promise<JourneyView> {
    return this.journeys.create(workspaceId, body);
  }

  @Get()
  @ApiOkResponse({ type: JourneyListView })
  list(@CurrentWorkspace() workspaceId: string, @Query() query: PageQueryDto): Promise<JourneyListView> {
    return this.journeys.list(workspaceId, query);
  }

  @Get(':id')
  @ApiOkResponse({ type: JourneyView })
  @ApiNotFoundResponse()
  get(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<JourneyView> {
    return this.journeys.get(workspaceId, params.id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change a journey; a journey that ran gets a new version, runs keep theirs' })
  @ApiOkResponse({ type: JourneyView })
  @ApiNotFoundResponse()
  update(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Body() body: UpdateJourneyDto,
  ): Promise<JourneyView> {
    return this.journeys.update(workspaceId, params.id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  async delete(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<void> {
    await this.journeys.delete(workspaceId, params.id);
  }

  @Post(':id/activate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Start admitting people, or resume a paused journey' })
  @ApiOkResponse({ type: JourneyView })
  @ApiNotFoundResponse()
  activate(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<JourneyView> {
    return this.journeys.activate(workspaceId, params.id);
  }

  @Post(':id/pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop entries, timers and sends until activated again' })
  @ApiOkResponse({ type: JourneyView })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'A draft is not running' })
  pause(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<JourneyView> {
    return this.journeys.pause(workspaceId, params.id);
  }

  @Get(':id/report')
  @ApiOperation({ summary: 'Per step: entered, waiting, passed, sends; per variant: conversions with a 95% interval' })
  @ApiOkResponse({ type: JourneyReportView })
  @ApiNotFoundResponse()
  report(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<JourneyReportView> {
    return this.reports.report(workspaceId, params.id);
  }

  @Get(':id/runs')
  @ApiOperation({ summary: 'Runs with their path and times; ?profileId= for one person' })
  @ApiOkResponse({ type: RunListView })
  @ApiNotFoundResponse()
  runs(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Query() query: RunsQueryDto,
  ): Promise<RunListView> {
    return this.reports.runs(workspaceId, params.id, query);
  }
}
