import { Global, Module } from '@nestjs/common';

import { MetricsService } from './metrics.service';

/** The process's metrics, injectable by every feature module in both roles. */
@Global()
@Module({ providers: [MetricsService], exports: [MetricsService] })
export class OpsCoreModule {}
