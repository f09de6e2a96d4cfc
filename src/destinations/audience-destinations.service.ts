import { Injectable } from '@nestjs/common';

import { recipientPredicate } from '../audiences/audience-predicate';
import { readAudienceDefinition } from '../audiences/language/audience-language';
import { Clock } from '../common/clock';
import { badRequestFor } from '../common/validation';
import { AppConfig } from '../config/app-config';
import { Prisma } from '../generated/prisma/client';
import { DeliveryQueuesService } from '../queues/delivery-queues.service';
import type { DestinationType } from './destination-config';
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
   * With backfill, everyone already in the audience is sent once. Connection and backfill happen
   * in one transaction under the audience's lock, with `connectedAt` read once the lock is held: a
   * computation still running (an audience's first one, say) is waited for, so the backfill reads
   * the members it wrote instead of an empty membership, and any later computation has a later
   * instant and sees the connection. A member is covered by one path or the other, and the
   * unique (destination, transition, recipient) key keeps it to one delivery. A computation that
   * outlasts BACKFILL_WAIT_MS makes the request answer 409 and connect nothing.
   *
   * Account audiences take email destinations, each with its recipients (a member condition), and
   * segment destinations (a `group` call and an `identify` per member, written by the
   * account_transition_deliveries trigger for later transitions).
   */
  async connect(workspaceId: string, audienceId: string, dto: ConnectDestinationDto): Promise<ConnectionView> {
    const level = await this.repository.audienceLevel(workspaceId, audienceId);
    if (!level) throw new AudienceNotFoundForDestinationError();
    const destination = await this.repository.find(workspaceId, dto.destinationId);
    if (!destination) throw new DestinationNotFoundError();
    const recipients = readRecipients(level, destination.type, dto.recipients);
    const send = dto.send ?? 'entered';
    const backfill = dto.backfill ?? false;
    const connected = await this.repository.withAudienceLock(audienceId, this.config.BACKFILL_WAIT_MS, async (tx) => {
      const connectedAt = this.clock.now();
      const id = await this.repository.connect(tx, audienceId, destination.id, {
        backfill,
        send,
        connectedAt,
        recipients,
      });
      if (!id || !backfill || send === 'exited') return { id, refs: [] };
      // A segment destination of an account audience gets every live member (its group call).
      const members =
        destination.type === 'segment'
          ? Prisma.sql`TRUE`
          : recipientPredicate(recipients?.ast ?? null, workspaceId, connectedAt);
      const refs =
        level === 'account'
          ? await this.repository.backfillAccounts(tx, workspaceId, audienceId, destination.id, members)
          : await this.repository.backfill(tx, workspaceId, audienceId, destination.id);
      return { id, refs };
    });
    const { id, refs } = connected;
    if (!id) throw new AlreadyConnectedError();
    // After the commit: a worker that took a job before it would find no delivery to claim.
    for (let start = 0; start < refs.length; start += ENQUEUE_CHUNK) {
      await this.queues.enqueue(refs.slice(start, start + ENQUEUE_CHUNK));
    }
    const backfilled = refs.length;
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

/**
 * The recipients of an account audience's email destination, read as a profile condition; refused
 * for a profile audience (its member is the recipient) and for a segment destination (every member
 * is sent). Webhooks and Slack to account audiences are not supported yet.
 */
function readRecipients(
  level: 'profile' | 'account',
  type: DestinationType,
  input: unknown,
): { ast: object; text: string } | undefined {
  if (level === 'profile') {
    if (input !== undefined) {
      throw badRequestFor([{ field: 'recipients', reason: 'applies to account audiences only' }]);
    }
    return undefined;
  }
  if (type !== 'email' && type !== 'segment') {
    throw badRequestFor([
      {
        field: 'destinationId',
        reason: 'account audiences can be connected to email destinations only, or segment destinations (group calls)',
      },
    ]);
  }
  if (input === undefined) return undefined;
  if (type === 'segment') {
    throw badRequestFor([{ field: 'recipients', reason: 'a segment destination is sent every member of the account' }]);
  }
  const read = readAudienceDefinition(input, 'recipients', 'profile');
  if (!read.ok) throw badRequestFor(read.errors.map((e) => ({ field: e.path, reason: e.message })));
  return { ast: read.ast, text: read.text };
}
