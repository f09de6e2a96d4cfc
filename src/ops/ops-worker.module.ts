import { Module } from '@nestjs/common';

import { DatabaseWatchdog } from './database-watchdog.service';
import { OpsRepository } from './ops.repository';

/** Worker-role operations: pausing workers while Postgres is down. */
@Module({ providers: [DatabaseWatchdog, OpsRepository], exports: [DatabaseWatchdog] })
export class OpsWorkerModule {}
