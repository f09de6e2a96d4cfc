import { Module } from '@nestjs/common';

import { DatabaseWatchdog } from './database-watchdog.service';

/** Worker-role operations: pausing workers while Postgres is down. */
@Module({ providers: [DatabaseWatchdog], exports: [DatabaseWatchdog] })
export class OpsWorkerModule {}
