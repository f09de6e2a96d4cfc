import { Global, Module } from '@nestjs/common';

import { ApiTokenGuard } from './api-token.guard';
import { FailedAuthLimiter } from './failed-auth-limiter.service';
import { MetricsTokenGuard } from './metrics-token.guard';

/**
 * Authentication shared by every module of a server process: the failed-attempt limiter (Redis)
 * and the guards that use it. The CLI, which has no Redis, does without.
 */
@Global()
@Module({
  providers: [FailedAuthLimiter, ApiTokenGuard, MetricsTokenGuard],
  exports: [FailedAuthLimiter, ApiTokenGuard, MetricsTokenGuard],
})
export class AuthModule {}
