import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import {
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
import {
  ConnectTraitDto,
  TraitConnectionListView,
  TraitConnectionView,
  TraitDestinationParamDto,
} from './trait-destinations.dto';
import { TraitDestinationsService } from './trait-destinations.service';

@ApiTags('destinations')
@ApiBearerAuth()
@Controller('api/traits/:id/destinations')
@UseGuards(ApiTokenGuard)
export class TraitDestinationsController {
  constructor(private readonly connections: TraitDestinationsService) {}

  @Post()
  @ApiOperation({
    summary: 'Sync a computed trait to a segment or webhook destination (optionally backfilling values)',
  })
  @ApiCreatedResponse({ type: TraitConnectionView })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'Already connected' })
  connect(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Body() body: ConnectTraitDto,
  ): Promise<TraitConnectionView> {
    return this.connections.connect(workspaceId, params.id, body);
  }

  @Get()
  @ApiOperation({ summary: 'Destinations a computed trait is synced to' })
  @ApiOkResponse({ type: TraitConnectionListView })
  @ApiNotFoundResponse()
  list(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<TraitConnectionListView> {
    return this.connections.list(workspaceId, params.id);
  }

  @Delete(':destinationId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Stop syncing; deliveries still waiting are skipped (reason "disconnected")' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  disconnect(@CurrentWorkspace() workspaceId: string, @Param() params: TraitDestinationParamDto): Promise<void> {
    return this.connections.disconnect(workspaceId, params.id, params.destinationId);
  }
}
