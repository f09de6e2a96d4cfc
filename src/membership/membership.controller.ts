import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query, UseGuards } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';

import { ApiTokenGuard } from '../auth/api-token.guard';
import { CurrentWorkspace } from '../auth/workspace-request';
import { IdParamDto } from '../common/id-param.dto';
import {
  ComputeQueuedView,
  MembersPageView,
  MembersQueryDto,
  TransitionsPageView,
  TransitionsQueryDto,
} from './membership.dto';
import { MembershipQueryService } from './membership-query.service';

@ApiTags('audiences')
@ApiBearerAuth()
@Controller('api/audiences')
@UseGuards(ApiTokenGuard)
export class MembershipController {
  constructor(private readonly membership: MembershipQueryService) {}

  @Get(':id/members')
  @ApiOperation({ summary: 'Current members of an audience, cursor-paginated' })
  @ApiOkResponse({ type: MembersPageView })
  @ApiNotFoundResponse()
  members(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Query() query: MembersQueryDto,
  ): Promise<MembersPageView> {
    return this.membership.members(workspaceId, params.id, query.limit, query.cursor);
  }

  @Get(':id/transitions')
  @ApiOperation({ summary: 'The entered/exited ledger of an audience, oldest first, cursor-paginated' })
  @ApiOkResponse({ type: TransitionsPageView })
  @ApiNotFoundResponse()
  transitions(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Query() query: TransitionsQueryDto,
  ): Promise<TransitionsPageView> {
    return this.membership.transitions(workspaceId, params.id, query);
  }

  @Post(':id/compute')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Recompute the audience now (asynchronously)' })
  @ApiAcceptedResponse({ type: ComputeQueuedView })
  @ApiNotFoundResponse()
  compute(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<ComputeQueuedView> {
    return this.membership.requestCompute(workspaceId, params.id);
  }
}
