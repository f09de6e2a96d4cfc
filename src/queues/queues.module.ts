import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { bullOptions } from './queue-connection';
import { QueueName } from './queue-names';

const queues = Object.values(QueueName).map((name) => ({ name }));

/** Registers the BullMQ root connection and every static queue, for producers and processors alike. */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({ inject: [AppConfig], useFactory: (config: AppConfig) => bullOptions(config) }),
    BullModule.registerQueue(...queues),
  ],
  exports: [BullModule],
})
export class QueuesModule {}
