import { Injectable, OnModuleInit } from '@nestjs/common';

import { DeliveryQueuesService } from '../queues/delivery-queues.service';
import { MaintenanceTasks } from '../queues/maintenance-tasks.service';
import { TraitSyncRepository } from './trait-sync.repository';

/** How often the outbox is drained: a trait change or an account's group call waits at most this long. */
export const SYNC_RELAY_INTERVAL_MS = 1_000;
const PAGE = 2_000;
/** At most this many pages a run, so one run cannot hold the maintenance worker for long. */
const MAX_PAGES = 25;

/**
 * Puts the deliveries the sync triggers wrote (computed trait changes, account audiences to
 * segment destinations) on their queues, a page at a time, removing them from the outbox only
 * once they are enqueued. The delivery sweeper is the net under it: a delivery the relay enqueued
 * and Redis then lost is found `queued` and re-enqueued.
 */
@Injectable()
export class SyncOutboxRelayService implements OnModuleInit {
  constructor(
    private readonly repository: TraitSyncRepository,
    private readonly queues: DeliveryQueuesService,
    private readonly maintenance: MaintenanceTasks,
  ) {}

  onModuleInit(): void {
    this.maintenance.register({ name: 'relay-sync-outbox', everyMs: SYNC_RELAY_INTERVAL_MS, run: () => this.relay() });
  }

  /** Drains the outbox; answers how many deliveries were enqueued. */
  async relay(): Promise<number> {
    let total = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const n = await this.repository.drainOutbox(PAGE, (refs) => this.queues.enqueue(refs));
      total += n;
      if (n < PAGE) break;
    }
    return total;
  }
}
