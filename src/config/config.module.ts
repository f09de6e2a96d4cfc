import { DynamicModule, Global, Module } from '@nestjs/common';

import { AppConfig, DatabaseConfig } from './app-config';

/** Makes the validated configuration injectable everywhere. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: DatabaseConfig, useValue: config },
      ],
      exports: [AppConfig, DatabaseConfig],
    };
  }

  /** For processes that only talk to Postgres (the CLI). */
  static forDatabase(config: DatabaseConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: DatabaseConfig, useValue: config }],
      exports: [DatabaseConfig],
    };
  }
}
