import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { DeliveryQueuesService } from '../queues/delivery-queues.service';
import { ConnectDestinationDto, ConnectionListView, ConnectionView } from './destinations.dto';
import {
  AlreadyConnectedError,
  AudienceNotFoundForDestinationError,
  ConnectionNotFoundError,
  DestinationNotFoundError,
} from './destinations.errors';
import { DestinationsRepository } from './destinations.repository';

const ENQUEUE_CHUNK = 1_000;

@Injectable()
export class AudienceDestinationsService {
  constructor(
    private readonly repository: DestinationsRepository,
    private readonly queues: DeliveryQueuesService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  async list(workspaceId: string, audienceId: string): Promise<ConnectionListView> {
    await this.requireAudience(workspaceId, audienceId);
    return { items: await this.repository.listConnections(workspaceId, audienceId), nextCursor: null };
  }

  /**
   * Connects from now on: the membership engine sends transitions at or after `connectedAt`.
   * With backfill, everyone already in the audience is sent once: the connection and a delivery
   * row per member are written together once no computation of the audience is running (see
   * DestinationsRepository.connectWithBackfill), so a member entering meanwhile is covered by one
   * path or the other and the unique (destination, transition) key keeps it to one delivery.
   */
  async connect(workspaceId: string, audienceId: string, dto: ConnectDestinationDto): Promise<ConnectionView> {
    await this.requireAudience(workspaceId, audienceId);
    const destination = await this.repository.find(workspaceId, dto.destinationId);
    if (!destination) throw new DestinationNotFoundError();
    const send = dto.send ?? 'entered';
    const connectedAt = this.clock.now();
    let id: string | undefined;
    let backfilled = 0;
    if (dto.backfill) {
      const connected = await this.repository.connectWithBackfill(
        workspaceId,
        { audienceId, destinationId: destination.id, send, connectedAt },
        this.config.BACKFILL_WAIT_MS,
      );
      id = connected?.id;
      const refs = connected?.refs ?? [];
      for (let start = 0; start < refs.length; start += ENQUEUE_CHUNK) {
        await this.queues.enqueue(refs.slice(start, start + ENQUEUE_CHUNK));
      }
      backfilled = refs.length;
    } else {
      id = await this.repository.connect(audienceId, destination.id, send, connectedAt);
    }
    if (!id) throw new AlreadyConnectedError();
    const connection = (await this.repository.listConnections(workspaceId, audienceId)).find((c) => c.id === id);
    if (!connection) throw new ConnectionNotFoundError();
    return { ...connection, backfilled };
  }

  async disconnect(workspaceId: string, audienceId: string, destinationId: string): Promise<void> {
    await this.requireAudience(workspaceId, audienceId);
    if (!(await this.repository.disconnect(workspaceId, audienceId, destinationId))) {
      throw new ConnectionNotFoundError();
    }
  }

  private async requireAudience(workspaceId: string, audienceId: string): Promise<void> {
    if (!(await this.repository.audienceExists(workspaceId, audienceId))) {
      throw new AudienceNotFoundForDestinationError();
    }
  }
}
