import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';

import { AppConfig } from '../config/app-config';
import { DeliveryQueuesService } from './delivery-queues.service';
import { bullOptions } from './queue-connection';
import { QueueErrorsService } from './queue-errors.service';
import { QueueName } from './queue-names';
import { WorkerRegistry } from './worker-registry.service';

const queues = Object.values(QueueName).map((name) => ({ name }));

/** Registers the BullMQ root connection and every static queue, for producers and processors alike. */
@Global()
@Module({
  imports: [
    DiscoveryModule,
    BullModule.forRootAsync({ inject: [AppConfig], useFactory: (config: AppConfig) => bullOptions(config) }),
    BullModule.registerQueue(...queues),
  ],
  providers: [DeliveryQueuesService, WorkerRegistry, QueueErrorsService],
  exports: [BullModule, DeliveryQueuesService, WorkerRegistry],
})
export class QueuesModule {}
