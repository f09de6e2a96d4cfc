import { Injectable } from '@nestjs/common';

import { Clock } from '../common/clock';
import { badRequestFor } from '../common/validation';
import { AppConfig } from '../config/app-config';
import { DeliveryQueuesService } from '../queues/delivery-queues.service';
import {
  DestinationNotFoundError,
  TraitAlreadyConnectedError,
  TraitConnectionNotFoundError,
  TraitNotFoundForDestinationError,
} from './destinations.errors';
import { DestinationsRepository } from './destinations.repository';
import { ConnectTraitDto, TraitConnectionListView, TraitConnectionView } from './trait-destinations.dto';
import { TraitSyncRepository } from './trait-sync.repository';

const ENQUEUE_CHUNK = 1_000;

/** Destination types a computed trait can be synced to: an identify per change, or a signed webhook. */
const TRAIT_DESTINATION_TYPES = new Set(['segment', 'webhook']);

/**
 * Computed traits connected to destinations: each change of a profile's value from the connection
 * on is sent once (an `identify` with the new value; a webhook gets old and new), nothing when a
 * recomputation leaves the value as it was (no history row is written then).
 */
@Injectable()
export class TraitDestinationsService {
  constructor(
    private readonly repository: TraitSyncRepository,
    private readonly destinations: DestinationsRepository,
    private readonly queues: DeliveryQueuesService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  async list(workspaceId: string, traitId: string): Promise<TraitConnectionListView> {
    await this.requireProfileTrait(workspaceId, traitId);
    return { items: await this.repository.listConnections(workspaceId, traitId), nextCursor: null };
  }

  /**
   * Connection and backfill in one transaction under the trait's lock, `connectedAt` read once it
   * is held: a running computation is waited for (its changes predate the connection, so only the
   * backfill sends their values), and every later change has a later instant and is picked up by
   * the trigger. The unique (destination, change) key keeps a value covered by both to one delivery.
   */
  async connect(workspaceId: string, traitId: string, dto: ConnectTraitDto): Promise<TraitConnectionView> {
    await this.requireProfileTrait(workspaceId, traitId);
    const destination = await this.destinations.find(workspaceId, dto.destinationId);
    if (!destination) throw new DestinationNotFoundError();
    if (!TRAIT_DESTINATION_TYPES.has(destination.type)) {
      throw badRequestFor([
        { field: 'destinationId', reason: 'computed traits can be connected to segment and webhook destinations only' },
      ]);
    }
    const backfill = dto.backfill ?? false;
    const { id, refs } = await this.repository.withTraitLock(traitId, this.config.BACKFILL_WAIT_MS, async (tx) => {
      const connectedAt = this.clock.now();
      const id = await this.repository.connect(tx, traitId, destination.id, backfill, connectedAt);
      const refs = id && backfill ? await this.repository.backfill(tx, workspaceId, traitId, destination.id) : [];
      return { id, refs };
    });
    if (!id) throw new TraitAlreadyConnectedError();
    // After the commit: a worker that took a job before it would find no delivery to claim.
    for (let start = 0; start < refs.length; start += ENQUEUE_CHUNK) {
      await this.queues.enqueue(refs.slice(start, start + ENQUEUE_CHUNK));
    }
    const connection = (await this.repository.listConnections(workspaceId, traitId)).find((c) => c.id === id);
    if (!connection) throw new TraitConnectionNotFoundError();
    return { ...connection, backfilled: refs.length };
  }

  async disconnect(workspaceId: string, traitId: string, destinationId: string): Promise<void> {
    await this.requireProfileTrait(workspaceId, traitId);
    if (!(await this.repository.disconnect(workspaceId, traitId, destinationId))) {
      throw new TraitConnectionNotFoundError();
    }
  }

  /** Account-level traits describe groups, which an identify cannot carry: refused for now. */
  private async requireProfileTrait(workspaceId: string, traitId: string): Promise<void> {
    const level = await this.repository.traitLevel(workspaceId, traitId);
    if (!level) throw new TraitNotFoundForDestinationError();
    if (level === 'account') {
      throw badRequestFor([
        { field: 'id', reason: 'account-level computed traits cannot be connected to destinations yet' },
      ]);
    }
  }
}
