import { Module } from '@nestjs/common';

import { UnsubscribeLinks } from '../unsubscribe/unsubscribe-links';
import { DeliveryProcessor } from './delivery.processor';
import { DeliveryRepository } from './delivery.repository';
import { DeliverySweeperService } from './delivery-sweeper.service';
import { DeliveryWorkersService } from './delivery-workers.service';
import { DestinationsCoreModule } from './destinations-core.module';
import { EmailSender } from './email-sender';
import { HttpPoster } from './http-poster';
import { OutcomeRetries } from './outcome-retries';
import { SegmentSender } from './segment-sender';
import { SlackSender } from './slack-sender';
import { SyncOutboxRelayService } from './sync-outbox-relay.service';
import { TraitSyncRepository } from './trait-sync.repository';
import { TransitionBatches } from './transition-batches';
import { WebhookSender } from './webhook-sender';

/** Worker role: per-destination delivery workers and the sweeper that rebuilds lost jobs from Postgres. */
@Module({
  imports: [DestinationsCoreModule],
  providers: [
    DeliveryWorkersService,
    DeliverySweeperService,
    DeliveryProcessor,
    DeliveryRepository,
    EmailSender,
    HttpPoster,
    WebhookSender,
    SegmentSender,
    SlackSender,
    UnsubscribeLinks,
    SyncOutboxRelayService,
    TraitSyncRepository,
    TransitionBatches,
    OutcomeRetries,
  ],
  exports: [DeliveryWorkersService, DeliverySweeperService, SyncOutboxRelayService],
})
export class DeliveryWorkersModule {}
