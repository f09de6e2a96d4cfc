import { Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

import { IdentityModule } from '../identity/identity.module';
import { MembershipModule } from '../membership/membership.module';
import { WorkspaceSettingsModule } from '../workspace-settings/workspace-settings.module';
import { RateLimiterService } from './rate-limiter.service';
import { SourceResolverService } from './source-resolver.service';
import { TrackingController } from './tracking.controller';
import { TrackingRepository } from './tracking.repository';
import { TrackingService } from './tracking.service';
import { installTrackingHooks } from './tracking-http.hooks';

@Module({
  imports: [IdentityModule, MembershipModule, WorkspaceSettingsModule],
  controllers: [TrackingController],
  providers: [TrackingService, TrackingRepository, SourceResolverService, RateLimiterService],
  exports: [TrackingService],
})
export class TrackingModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** Runs before Fastify is ready, which is when route hooks are bound. */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (fastify) installTrackingHooks(fastify);
  }
}
