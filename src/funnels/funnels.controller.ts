import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';

import { AudienceView } from '../audiences/audiences.dto';
import { ApiTokenGuard } from '../auth/api-token.guard';
import { CurrentWorkspace } from '../auth/workspace-request';
import { FunnelAudienceDto, FunnelReportDto, FunnelReportView } from './funnels.dto';
import { FunnelsService } from './funnels.service';

@ApiTags('funnels')
@ApiBearerAuth()
@Controller('api/funnels')
@UseGuards(ApiTokenGuard)
export class FunnelsController {
  constructor(private readonly funnels: FunnelsService) {}

  @Post('report')
  @HttpCode(200)
  @ApiOperation({ summary: 'Conversion step by step, versus the previous period, optionally broken down' })
  @ApiOkResponse({ type: FunnelReportView })
  @ApiBadRequestResponse({ description: 'Names the field: `steps[2].where: line 1, col 5: …`' })
  report(@CurrentWorkspace() workspaceId: string, @Body() body: FunnelReportDto): Promise<FunnelReportView> {
    return this.funnels.report(workspaceId, body);
  }

  @Post('audience')
  @ApiOperation({ summary: 'Save the people who reached step k but not step k+1 as an audience' })
  @ApiCreatedResponse({ type: AudienceView })
  audience(@CurrentWorkspace() workspaceId: string, @Body() body: FunnelAudienceDto): Promise<AudienceView> {
    return this.funnels.createDropOffAudience(workspaceId, body);
  }
}
