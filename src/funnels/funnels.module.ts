import { Module } from '@nestjs/common';

import { AudiencesModule } from '../audiences/audiences.module';
import { FunnelsController } from './funnels.controller';
import { FunnelsRepository } from './funnels.repository';
import { FunnelsService } from './funnels.service';

/** Funnel reports over events, and drop-off audiences saved through the audiences module. */
@Module({
  imports: [AudiencesModule],
  controllers: [FunnelsController],
  providers: [FunnelsService, FunnelsRepository],
})
export class FunnelsModule {}
