import { Global, Module } from '@nestjs/common';

import { MaintenanceProcessor } from './maintenance.processor';
import { MaintenanceTasks } from './maintenance-tasks.service';

/** Worker role: the `maintenance` queue's schedulers and worker; any worker module registers tasks. */
@Global()
@Module({ providers: [MaintenanceTasks, MaintenanceProcessor], exports: [MaintenanceTasks] })
export class MaintenanceModule {}
