import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
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
  CreateDestinationDto,
  DeliveriesQueryDto,
  DeliveryPageView,
  DestinationListView,
  DestinationView,
  UpdateDestinationDto,
} from './destinations.dto';
import { DestinationsService } from './destinations.service';

@ApiTags('destinations')
@ApiBearerAuth()
@Controller('api/destinations')
@UseGuards(ApiTokenGuard)
export class DestinationsController {
  constructor(private readonly destinations: DestinationsService) {}

  @Post()
  @ApiOperation({ summary: 'Create an email (SMTP) or webhook destination; templates are checked on save' })
  @ApiCreatedResponse({ type: DestinationView })
  create(@CurrentWorkspace() workspaceId: string, @Body() body: CreateDestinationDto): Promise<DestinationView> {
    return this.destinations.create(workspaceId, body);
  }

  @Get()
  @ApiOperation({ summary: 'Destinations of the workspace (secrets masked), oldest first, cursor-paginated' })
  @ApiOkResponse({ type: DestinationListView })
  list(@CurrentWorkspace() workspaceId: string, @Query() query: PageQueryDto): Promise<DestinationListView> {
    return this.destinations.list(workspaceId, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A destination with its delivery counts by status' })
  @ApiOkResponse({ type: DestinationView })
  @ApiNotFoundResponse()
  get(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<DestinationView> {
    return this.destinations.get(workspaceId, params.id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change name, rate limit or config keys (omitted secrets are kept)' })
  @ApiOkResponse({ type: DestinationView })
  @ApiNotFoundResponse()
  update(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Body() body: UpdateDestinationDto,
  ): Promise<DestinationView> {
    return this.destinations.update(workspaceId, params.id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a destination, its connections and deliveries' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  delete(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<void> {
    return this.destinations.delete(workspaceId, params.id);
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: 'Deliveries of a destination, newest first, filtered by status, cursor-paginated' })
  @ApiOkResponse({ type: DeliveryPageView })
  @ApiNotFoundResponse()
  deliveries(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Query() query: DeliveriesQueryDto,
  ): Promise<DeliveryPageView> {
    return this.destinations.deliveries(workspaceId, params.id, query);
  }
}
