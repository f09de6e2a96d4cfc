import { DynamicModule, Module, Type } from '@nestjs/common';

import { AccountsModule } from './accounts/accounts.module';
import { AudiencesModule } from './audiences/audiences.module';
import { AuthModule } from './auth/auth.module';
import { Clock, SystemClock } from './common/clock';
import { AppConfig, Role } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DemoModule } from './demo/demo.module';
import { DeliveryWorkersModule } from './destinations/delivery-workers.module';
import { DestinationsModule } from './destinations/destinations.module';
import { FunnelsModule } from './funnels/funnels.module';
import { HealthModule } from './health/health.module';
import { JourneysModule } from './journeys/journeys.module';
import { JourneysWorkerModule } from './journeys/journeys-worker.module';
import { MembershipModule } from './membership/membership.module';
import { MembershipWorkerModule } from './membership/membership-worker.module';
import { OpsModule } from './ops/ops.module';
import { OpsCoreModule } from './ops/ops-core.module';
import { OpsWorkerModule } from './ops/ops-worker.module';
import { PrismaModule } from './prisma/prisma.module';
import { ProfilesModule } from './profiles/profiles.module';
import { QuarantineModule } from './quarantine/quarantine.module';
import { MaintenanceModule } from './queues/maintenance.module';
import { QueuesModule } from './queues/queues.module';
import { RedisModule } from './redis/redis.module';
import { ScoresModule } from './scores/scores.module';
import { ScoresWorkerModule } from './scores/scores-worker.module';
import { TrackingModule } from './tracking/tracking.module';
import { TraitsModule } from './traits/traits.module';
import { TraitsWorkerModule } from './traits/traits-worker.module';
import { UnsubscribeModule } from './unsubscribe/unsubscribe.module';
import { WorkspaceSettingsModule } from './workspace-settings/workspace-settings.module';
import { WorkspacesModule } from './workspaces/workspaces.module';
import { WorkspacesCoreModule } from './workspaces/workspaces-core.module';

/**
 * What every feature module expects from the application root, in every role (the test harness's
 * middle tier builds feature modules on exactly these).
 */
export const coreModules: Type[] = [
  PrismaModule,
  RedisModule,
  QueuesModule,
  WorkspacesCoreModule,
  OpsCoreModule,
  AuthModule,
];

/** Modules that serve HTTP. */
const apiModules: Type[] = [
  HealthModule,
  OpsModule,
  WorkspacesModule,
  WorkspaceSettingsModule,
  TrackingModule,
  ProfilesModule,
  AccountsModule,
  AudiencesModule,
  TraitsModule,
  ScoresModule,
  FunnelsModule,
  MembershipModule,
  DestinationsModule,
  UnsubscribeModule,
  QuarantineModule,
  JourneysModule,
];

/** Modules that process BullMQ jobs, run schedulers and relays. */
const workerModules: Type[] = [
  MaintenanceModule,
  OpsWorkerModule,
  MembershipWorkerModule,
  TraitsWorkerModule,
  ScoresWorkerModule,
  DeliveryWorkersModule,
  JourneysWorkerModule,
];

export function runsApi(role: Role): boolean {
  return role === 'api' || role === 'all';
}

export function runsWorkers(role: Role): boolean {
  return role === 'worker' || role === 'all';
}

export interface PersonaeOptions {
  /** Replaces the system clock (tests move time forward without waiting). */
  clock?: Clock;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: PersonaeOptions = {}): DynamicModule {
    return {
      module: AppModule,
      global: true,
      providers: [{ provide: Clock, useValue: options.clock ?? new SystemClock() }],
      exports: [Clock],
      imports: [
        ConfigModule.forRoot(config),
        ...coreModules,
        ...(runsApi(config.ROLE) ? apiModules : []),
        ...(runsWorkers(config.ROLE) ? workerModules : []),
        ...(config.PERSONAE_DEMO && runsApi(config.ROLE) ? [DemoModule] : []),
      ],
    };
  }
}
