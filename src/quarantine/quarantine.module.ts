import { Module } from '@nestjs/common';

import { TrackingModule } from '../tracking/tracking.module';
import { QuarantineController } from './quarantine.controller';
import { QuarantineRepository } from './quarantine.repository';
import { QuarantineService } from './quarantine.service';

@Module({
  imports: [TrackingModule],
  controllers: [QuarantineController],
  providers: [QuarantineService, QuarantineRepository],
})
export class QuarantineModule {}
