import { Global, Module } from '@nestjs/common';
import { FailedAuthLimiter } from './failed-auth-limiter.service';
import { MetricsTokenGuard } from './metrics-token.guard';

/** Authentication shared by every module: the failed-attempt limiter and the guards that need it. */
@Global()
@Module({ providers: [FailedAuthLimiter, MetricsTokenGuard], exports: [FailedAuthLimiter, MetricsTokenGuard] })
export class AuthModule {}
