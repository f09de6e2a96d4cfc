import { DynamicModule, INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { Clock } from '../../src/common/clock';
import { AppConfig } from '../../src/config/app-config';
import { ConfigModule } from '../../src/config/config.module';
import { AudienceSchedulesService } from '../../src/membership/audience-schedules.service';
import { MembershipRepository } from '../../src/membership/membership.repository';
import { MembershipService } from '../../src/membership/membership.service';
import { ProfileChangesRepository } from '../../src/membership/profile-changes.repository';
import { OpsCoreModule } from '../../src/ops/ops-core.module';
import { PrismaModule } from '../../src/prisma/prisma.module';
import { QueuesModule } from '../../src/queues/queues.module';

/**
 * The membership engine on its own: the same service and SQL the compute processor runs, without
 * the processors and the relay, so the benchmark times computations it starts itself.
 */
@Module({})
class BenchEngineModule {
  static forRoot(config: AppConfig, clock: Clock): DynamicModule {
    return {
      module: BenchEngineModule,
      global: true,
      imports: [ConfigModule.forRoot(config), PrismaModule, QueuesModule, OpsCoreModule],
      providers: [
        { provide: Clock, useValue: clock },
        MembershipRepository,
        ProfileChangesRepository,
        MembershipService,
        AudienceSchedulesService,
      ],
      exports: [Clock],
    };
  }
}

export async function engineContext(config: AppConfig, clock: Clock): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(BenchEngineModule.forRoot(config, clock), { logger: ['error'] });
}
