import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';

import { ApiTokenGuard } from '../auth/api-token.guard';
import { CurrentWorkspace } from '../auth/workspace-request';
import { IdParamDto } from '../common/id-param.dto';
import { QuarantineEntryView, QuarantinePageView, QuarantineQueryDto, ReplayDto, ReplayView } from './quarantine.dto';
import { QuarantineService } from './quarantine.service';

@ApiTags('quarantine')
@ApiBearerAuth()
@Controller('api/quarantine')
@UseGuards(ApiTokenGuard)
export class QuarantineController {
  constructor(private readonly quarantine: QuarantineService) {}

  @Get()
  @ApiOperation({ summary: 'Tracking messages not stored (rejected) or stored with a change (warning), newest first' })
  @ApiOkResponse({ type: QuarantinePageView })
  list(@CurrentWorkspace() workspaceId: string, @Query() query: QuarantineQueryDto): Promise<QuarantinePageView> {
    const filter = { sourceId: query.sourceId, kind: query.kind };
    return this.quarantine.list(workspaceId, filter, query.limit, query.cursor);
  }

  @Get(':id')
  @ApiOkResponse({ type: QuarantineEntryView })
  @ApiNotFoundResponse()
  get(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<QuarantineEntryView> {
    return this.quarantine.get(workspaceId, params.id);
  }

  @Post(':id/replay')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Store a rejected message as an event, as received or as corrected in the body; removes the entry',
  })
  @ApiOkResponse({ type: ReplayView })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'The entry is a warning (its event is stored), or its source was deleted' })
  replay(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Body() body: ReplayDto,
  ): Promise<ReplayView> {
    return this.quarantine.replay(workspaceId, params.id, body?.message);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Forget a quarantined message' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  delete(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<void> {
    return this.quarantine.delete(workspaceId, params.id);
  }
}
