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
import { AudienceDestinationsService } from './audience-destinations.service';
import {
  AudienceDestinationParamDto,
  ConnectDestinationDto,
  ConnectionListView,
  ConnectionView,
} from './destinations.dto';

@ApiTags('destinations')
@ApiBearerAuth()
@Controller('api/audiences/:id/destinations')
@UseGuards(ApiTokenGuard)
export class AudienceDestinationsController {
  constructor(private readonly connections: AudienceDestinationsService) {}

  @Post()
  @ApiOperation({ summary: 'Sync an audience to a destination (optionally backfilling current members)' })
  @ApiCreatedResponse({ type: ConnectionView })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'Already connected' })
  connect(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Body() body: ConnectDestinationDto,
  ): Promise<ConnectionView> {
    return this.connections.connect(workspaceId, params.id, body);
  }

  @Get()
  @ApiOperation({ summary: 'Destinations an audience is synced to' })
  @ApiOkResponse({ type: ConnectionListView })
  @ApiNotFoundResponse()
  list(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<ConnectionListView> {
    return this.connections.list(workspaceId, params.id);
  }

  @Delete(':destinationId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Stop syncing; deliveries still waiting are skipped (reason "disconnected")' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  disconnect(@CurrentWorkspace() workspaceId: string, @Param() params: AudienceDestinationParamDto): Promise<void> {
    return this.connections.disconnect(workspaceId, params.id, params.destinationId);
  }
}
