import { Body, Controller, HttpCode, Post, Req, UseFilters } from '@nestjs/common';
import { ApiBasicAuth, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';

import {
  AliasMessageDto,
  BatchDto,
  GroupMessageDto,
  IdentifyMessageDto,
  MessageType,
  PageMessageDto,
  ScreenMessageDto,
  TrackingResponse,
  TrackMessageDto,
} from './tracking.dto';
import { TrackingService } from './tracking.service';
import { RateLimitedFilter } from './tracking-exception.filter';

/**
 * Segment's HTTP Tracking API. Bodies are validated by the service, message by message, because
 * Segment messages carry fields no DTO lists and a batch must name the index of a bad message
 * (which is quarantined while the others are stored).
 */
@ApiTags('tracking')
@ApiBasicAuth()
@Controller('v1')
@UseFilters(RateLimitedFilter)
export class TrackingController {
  constructor(private readonly tracking: TrackingService) {}

  @Post(['track', 't'])
  @HttpCode(200)
  @ApiOperation({ summary: 'Record an action (Segment track)' })
  @ApiBody({ type: TrackMessageDto })
  @ApiOkResponse({ type: TrackingResponse })
  async track(@Body() body: unknown, @Req() request: FastifyRequest): Promise<TrackingResponse> {
    return this.ingest('track', body, request);
  }

  @Post(['identify', 'i'])
  @HttpCode(200)
  @ApiOperation({ summary: 'Tie a user to their traits (Segment identify)' })
  @ApiBody({ type: IdentifyMessageDto })
  @ApiOkResponse({ type: TrackingResponse })
  async identify(@Body() body: unknown, @Req() request: FastifyRequest): Promise<TrackingResponse> {
    return this.ingest('identify', body, request);
  }

  @Post(['page', 'p'])
  @HttpCode(200)
  @ApiOperation({ summary: 'Record a page view (Segment page)' })
  @ApiBody({ type: PageMessageDto })
  @ApiOkResponse({ type: TrackingResponse })
  async page(@Body() body: unknown, @Req() request: FastifyRequest): Promise<TrackingResponse> {
    return this.ingest('page', body, request);
  }

  @Post(['screen', 's'])
  @HttpCode(200)
  @ApiOperation({ summary: 'Record a mobile screen view (Segment screen)' })
  @ApiBody({ type: ScreenMessageDto })
  @ApiOkResponse({ type: TrackingResponse })
  async screen(@Body() body: unknown, @Req() request: FastifyRequest): Promise<TrackingResponse> {
    return this.ingest('screen', body, request);
  }

  @Post(['group', 'g'])
  @HttpCode(200)
  @ApiOperation({ summary: 'Associate a user with a group (Segment group)' })
  @ApiBody({ type: GroupMessageDto })
  @ApiOkResponse({ type: TrackingResponse })
  async group(@Body() body: unknown, @Req() request: FastifyRequest): Promise<TrackingResponse> {
    return this.ingest('group', body, request);
  }

  @Post(['alias', 'a'])
  @HttpCode(200)
  @ApiOperation({ summary: 'Link a previous id to a user (Segment alias)' })
  @ApiBody({ type: AliasMessageDto })
  @ApiOkResponse({ type: TrackingResponse })
  async alias(@Body() body: unknown, @Req() request: FastifyRequest): Promise<TrackingResponse> {
    return this.ingest('alias', body, request);
  }

  @Post(['batch', 'b'])
  @HttpCode(200)
  @ApiOperation({
    summary: 'Send up to 2,500 messages at once (Segment batch); invalid messages are quarantined, the others stored',
  })
  @ApiBody({ type: BatchDto })
  @ApiOkResponse({ type: TrackingResponse })
  async batch(@Body() body: unknown, @Req() request: FastifyRequest): Promise<TrackingResponse> {
    return this.ingest('batch', body, request);
  }

  @Post('import')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Import history: a batch whose profiles are evaluated after live traffic (same body as /v1/batch)',
  })
  @ApiBody({ type: BatchDto })
  @ApiOkResponse({ type: TrackingResponse })
  async import(@Body() body: unknown, @Req() request: FastifyRequest): Promise<TrackingResponse> {
    return this.ingest('batch', body, request, 'bulk');
  }

  private async ingest(
    kind: MessageType | 'batch',
    body: unknown,
    request: FastifyRequest,
    lane: 'live' | 'bulk' = 'live',
  ): Promise<TrackingResponse> {
    const outcome = await this.tracking.ingest(kind, body, {
      authorization: request.headers.authorization,
      ip: request.ip,
      lane,
    });
    const response: TrackingResponse = { success: true };
    if (outcome.rejected.length > 0) response.rejected = outcome.rejected;
    if (outcome.warnings.length > 0) response.warnings = outcome.warnings;
    return response;
  }
}
