import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { DeliveryQueuesService } from './delivery-queues.service';
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
  providers: [DeliveryQueuesService],
  exports: [BullModule, DeliveryQueuesService],
})
export class QueuesModule {}
