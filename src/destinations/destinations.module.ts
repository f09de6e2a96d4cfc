import { Module } from '@nestjs/common';

import { AudienceDestinationsController } from './audience-destinations.controller';
import { AudienceDestinationsService } from './audience-destinations.service';
import { DestinationsController } from './destinations.controller';
import { DestinationsRepository } from './destinations.repository';
import { DestinationsService } from './destinations.service';
import { DestinationsCoreModule } from './destinations-core.module';
import { DevMailController } from './dev-mail.controller';
import { DevMailSink } from './dev-mail-sink';
import { TraitDestinationsController } from './trait-destinations.controller';
import { TraitDestinationsService } from './trait-destinations.service';
import { TraitSyncRepository } from './trait-sync.repository';

/** The destinations API (and, in the demo, the local mail sink it shows at /dev/mail). */
@Module({
  imports: [DestinationsCoreModule],
  controllers: [DestinationsController, AudienceDestinationsController, TraitDestinationsController, DevMailController],
  providers: [
    DestinationsService,
    AudienceDestinationsService,
    TraitDestinationsService,
    DestinationsRepository,
    TraitSyncRepository,
    DevMailSink,
  ],
})
export class DestinationsModule {}
