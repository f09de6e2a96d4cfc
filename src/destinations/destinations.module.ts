import { Module } from '@nestjs/common';

import { AudienceDestinationsController } from './audience-destinations.controller';
import { AudienceDestinationsService } from './audience-destinations.service';
import { DestinationsController } from './destinations.controller';
import { DestinationsRepository } from './destinations.repository';
import { DestinationsService } from './destinations.service';
import { DestinationsCoreModule } from './destinations-core.module';
import { DevMailController } from './dev-mail.controller';
import { DevMailSink } from './dev-mail-sink';

/** The destinations API (and, in the demo, the local mail sink it shows at /dev/mail). */
@Module({
  imports: [DestinationsCoreModule],
  controllers: [DestinationsController, AudienceDestinationsController, DevMailController],
  providers: [DestinationsService, AudienceDestinationsService, DestinationsRepository, DevMailSink],
})
export class DestinationsModule {}
