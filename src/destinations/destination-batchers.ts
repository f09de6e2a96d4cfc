import { Batcher } from './batcher';
import type { ClaimedDelivery } from './delivery.repository';
import type { SendOutcome } from './delivery-policy';

/** Sends the deliveries of one destination that came together; one outcome per delivery, in order. */
export type SendBatch<C> = (deliveries: ClaimedDelivery[], config: C) => Promise<SendOutcome[]>;

/**
 * Deliveries of one destination that are attempted at about the same time (a batch job's
 * deliveries side by side, retries that fall due together, a rate limiter's trickle) go out
 * together: one request for many transitions, where the receiver takes batches (Segment's
 * /v1/batch) or where many lines read better as one message (Slack). One Batcher per destination
 * and version of its config, so a changed config is never mixed with the old one in a request.
 */
export class DestinationBatchers<C> {
  private readonly batchers = new Map<string, { version: number; batcher: Batcher<ClaimedDelivery, SendOutcome> }>();

  constructor(
    private readonly sendBatch: SendBatch<C>,
    private readonly maxBatch: number,
    private readonly windowMs: number,
  ) {}

  send(delivery: ClaimedDelivery, config: C): Promise<SendOutcome> {
    return this.batcherFor(delivery, config).call(delivery);
  }

  /** Deliveries of one destination and version of its config at once: one outcome each, in order. */
  sendMany(deliveries: ClaimedDelivery[], config: C): Promise<SendOutcome[]> {
    const [first] = deliveries;
    return first ? this.batcherFor(first, config).callMany(deliveries) : Promise.resolve([]);
  }

  private batcherFor(delivery: ClaimedDelivery, config: C): Batcher<ClaimedDelivery, SendOutcome> {
    const version = delivery.destinationVersion.getTime();
    let entry = this.batchers.get(delivery.destinationId);
    if (!entry || entry.version !== version) {
      // A batcher replaced here still flushes what it holds, with the config it was made for.
      const batcher = new Batcher<ClaimedDelivery, SendOutcome>(
        (deliveries) => this.sendBatch(deliveries, config),
        this.maxBatch,
        this.windowMs,
      );
      entry = { version, batcher };
      this.batchers.set(delivery.destinationId, entry);
    }
    return entry.batcher;
  }

  /** Forgets a deleted destination's batcher. */
  release(destinationId: string): void {
    this.batchers.delete(destinationId);
  }
}
