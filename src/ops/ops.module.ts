import { Module } from '@nestjs/common';

import { OpsController } from './ops.controller';
import { OpsRepository } from './ops.repository';
import { OpsCollector } from './ops-collector.service';
import { StatusService } from './status.service';

@Module({
  controllers: [OpsController],
  providers: [OpsCollector, OpsRepository, StatusService],
  exports: [OpsCollector],
})
export class OpsModule {}
