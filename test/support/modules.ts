import { DynamicModule, INestApplicationContext, Module, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { coreModules } from '../../src/app.module';
import { Clock, SystemClock } from '../../src/common/clock';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { ConfigModule } from '../../src/config/config.module';
import { WorkspacesService } from '../../src/workspaces/workspaces.service';
import { testEnvironment, WorkspaceCredentials } from './app';
import { createTestDatabase, TestDatabase } from './database';

/**
 * The middle tier: the services and repositories of the feature modules a test names, on a real
 * database of its own, without HTTP, workers or schedulers. What every feature module expects from
 * the application root is there too: the configuration, the application's core modules (Prisma,
 * Redis, queue producers, metrics, workspace lookups, authentication) and the clock.
 */
export interface TestModule {
  context: INestApplicationContext;
  config: AppConfig;
  database: TestDatabase;
  get<T>(type: Type<T>): T;
  close(): Promise<void>;
}

export interface TestModuleOptions {
  /** Replaces the system clock. */
  clock?: Clock;
  /** Settings over the test environment's. */
  env?: Record<string, string>;
}

@Module({})
class TestRootModule {
  static forRoot(config: AppConfig, clock: Clock, imports: Type[]): DynamicModule {
    return {
      module: TestRootModule,
      global: true,
      providers: [{ provide: Clock, useValue: clock }],
      exports: [Clock],
      imports: [ConfigModule.forRoot(config), ...coreModules, ...imports],
    };
  }
}

/** Builds `imports` (feature modules such as AudiencesModule) on a fresh database; close() in afterAll. */
export async function startTestModule(imports: Type[], options: TestModuleOptions = {}): Promise<TestModule> {
  const database = await createTestDatabase();
  try {
    const config = loadConfig(testEnvironment(database, options.env));
    const context = await NestFactory.createApplicationContext(
      TestRootModule.forRoot(config, options.clock ?? new SystemClock(), imports),
      { logger: false },
    );
    return {
      context,
      config,
      database,
      get: (type) => context.get(type),
      close: async () => {
        await context.close();
        await database.drop();
      },
    };
  } catch (error) {
    await database.drop();
    throw error;
  }
}

/** Creates a workspace through the service, as the admin API does. */
export async function createWorkspaceIn(module: TestModule, name = 'Test workspace'): Promise<WorkspaceCredentials> {
  const created = await module.get(WorkspacesService).create(name);
  return {
    workspaceId: created.workspace.id,
    sourceId: created.source.id,
    writeKey: created.source.writeKey,
    apiToken: created.apiToken,
  };
}
