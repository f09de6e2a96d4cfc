import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { HealthReport, HealthService, ReadinessReport } from './health.service';

@ApiTags('ops')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  @ApiOkResponse({ description: 'Postgres and Redis are both reachable.' })
  @ApiServiceUnavailableResponse({ description: 'Postgres or Redis is down; the body says which.' })
  async check(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    const report = await this.health.check();
    if (report.status !== 'ok') void reply.status(503);
    return report;
  }

  @Get('live')
  @ApiOkResponse({ description: 'The process is up (liveness probe); says nothing about its dependencies.' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOkResponse({ description: 'Postgres and Redis answer and every migration is applied (readiness probe).' })
  @ApiServiceUnavailableResponse({ description: 'Not ready; the body says why.' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessReport> {
    const report = await this.health.readiness();
    if (report.status !== 'ok') void reply.status(503).header('retry-after', '5');
    return report;
  }
}
