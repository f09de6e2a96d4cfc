import { Controller, Get, Header, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';

import { ApiTokenGuard } from '../auth/api-token.guard';
import { MetricsTokenGuard } from '../auth/metrics-token.guard';
import { CurrentWorkspace } from '../auth/workspace-request';
import { MetricsService } from './metrics.service';
import { StatusQueryDto } from './ops.dto';
import { OpsCollector } from './ops-collector.service';
import { StatusService, WorkspaceStatus } from './status.service';

@ApiTags('ops')
@Controller()
export class OpsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly collector: OpsCollector,
    private readonly status: StatusService,
  ) {}

  @Get('metrics')
  @UseGuards(MetricsTokenGuard)
  @ApiBearerAuth()
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description:
      'Prometheus metrics of this process and of shared state (queues, audiences, deliveries). ' +
      'Bearer METRICS_TOKEN or the admin token.',
  })
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    await this.collector.collect();
    return this.metrics.registry.metrics();
  }

  @Get('api/status')
  @UseGuards(ApiTokenGuard)
  @ApiBearerAuth()
  @ApiQuery({ name: 'failureRateThreshold', required: false, description: 'default 0.2 (20%)' })
  @ApiOkResponse({
    description:
      'Stale audiences, failing destinations, dead letters, and the backlog and lag of real-time evaluation.',
  })
  workspaceStatus(@CurrentWorkspace() workspaceId: string, @Query() query: StatusQueryDto): Promise<WorkspaceStatus> {
    return this.status.workspaceStatus(workspaceId, query.failureRateThreshold ?? 0.2);
  }
}
