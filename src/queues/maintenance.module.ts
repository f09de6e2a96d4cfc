import { Global, Module } from '@nestjs/common';
import { MaintenanceTasks } from './maintenance-tasks.service';
import { MaintenanceProcessor } from './maintenance.processor';

/** Worker role: the `maintenance` queue's schedulers and worker; any worker module registers tasks. */
@Global()
@Module({ providers: [MaintenanceTasks, MaintenanceProcessor], exports: [MaintenanceTasks] })
export class MaintenanceModule {}
