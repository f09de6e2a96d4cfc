import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { ApiTokenGuard } from '../auth/api-token.guard';
import { CurrentWorkspace } from '../auth/workspace-request';
import { PageQueryDto } from '../common/pagination';
import { AccountListView, AccountView, GroupIdParamDto } from './accounts.dto';
import { AccountsService } from './accounts.service';

@ApiTags('accounts')
@ApiBearerAuth()
@Controller('api/accounts')
@UseGuards(ApiTokenGuard)
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Get()
  @ApiOperation({ summary: 'Accounts (groups of `group` calls) by groupId, cursor-paginated' })
  @ApiOkResponse({ type: AccountListView })
  list(@CurrentWorkspace() workspaceId: string, @Query() query: PageQueryDto): Promise<AccountListView> {
    return this.accounts.list(workspaceId, query);
  }

  @Get(':groupId')
  @ApiOperation({ summary: 'An account: traits, creation, members with their identities, account audiences' })
  @ApiOkResponse({ type: AccountView })
  @ApiNotFoundResponse()
  get(@CurrentWorkspace() workspaceId: string, @Param() params: GroupIdParamDto): Promise<AccountView> {
    return this.accounts.get(workspaceId, params.groupId);
  }
}
