import { Controller, Delete, Get, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { ApiTokenGuard } from '../auth/api-token.guard';
import { CurrentWorkspace } from '../auth/workspace-request';
import { IdParamDto } from '../common/id-param.dto';
import {
  ErasureView,
  ProfileEventsQueryDto,
  ProfileEventsView,
  ProfileListView,
  ProfileLookupQueryDto,
  ProfileView,
} from './profiles.dto';
import { ProfilesService } from './profiles.service';

@ApiTags('profiles')
@ApiBearerAuth()
@Controller('api/profiles')
@UseGuards(ApiTokenGuard)
export class ProfilesController {
  constructor(private readonly profiles: ProfilesService) {}

  @Get()
  @ApiOperation({ summary: 'Find the profile holding an identity (`?identifier=email:a@b.com`)' })
  @ApiOkResponse({ type: ProfileListView })
  find(@CurrentWorkspace() workspaceId: string, @Query() query: ProfileLookupQueryDto): Promise<ProfileListView> {
    return this.profiles.findByIdentifier(workspaceId, query.identifier);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A profile: traits, identities, merge history, audience memberships, groups' })
  @ApiOkResponse({ type: ProfileView, description: 'A merged-away id answers with its survivor and `resolvedFrom`' })
  @ApiNotFoundResponse()
  get(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<ProfileView> {
    return this.profiles.get(workspaceId, params.id);
  }

  @Get(':id/events')
  @ApiOperation({ summary: 'Events of a profile, newest first, cursor-paginated' })
  @ApiOkResponse({ type: ProfileEventsView })
  @ApiNotFoundResponse()
  events(
    @CurrentWorkspace() workspaceId: string,
    @Param() params: IdParamDto,
    @Query() query: ProfileEventsQueryDto,
  ): Promise<ProfileEventsView> {
    return this.profiles.events(workspaceId, params.id, query.limit, query.cursor);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Erase a person: profile, merged-away profiles, identities, events, memberships' })
  @ApiOkResponse({ type: ErasureView })
  @ApiNotFoundResponse()
  erase(@CurrentWorkspace() workspaceId: string, @Param() params: IdParamDto): Promise<ErasureView> {
    return this.profiles.erase(workspaceId, params.id);
  }
}
