import { Injectable } from '@nestjs/common';

import type { CreatedCursor } from '../common/pagination';
import { audienceLockSql } from '../database/audience-lock';
import { journeysUsingSql } from '../database/journey-references';
import { postgresErrorCode } from '../database/postgres-errors';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import type { DestinationType } from './destination-config';
import { AudienceBusyError } from './destinations.errors';

export const DELIVERY_STATUSES = ['queued', 'sending', 'sent', 'failed', 'suppressed', 'skipped', 'dead'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export type SendTransitions = 'entered' | 'exited' | 'both';

export interface DestinationRow {
  id: string;
  type: DestinationType;
  name: string;
  config: unknown;
  rateLimitPerSecond: number | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface DeliveryRow {
  id: string;
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  providerMessageId: string | null;
  nextAttemptAt: Date | null;
  sentAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Null for a journey send. */
  transitionId: bigint | null;
  audienceId: string | null;
  audienceKey: string | null;
  /** The transition's profile (an account audience's: the account), or the journey run's. */
  profileId: string;
  /** Who the message is for, when it is not `profileId` (a member of an account). */
  recipientId: string | null;
  kind: 'entered' | 'exited' | 'journey';
  at: Date;
  /** Set for a journey send: the journey, its run and the step. */
  journey: { id: string; key: string; version: number; runId: string; step: string; seq: number } | null;
  /** A transition batch's transition: its place in the row (1, 2, …), for the cursor; 0 for any other delivery. */
  position: number;
}

export interface DeliveryCursor {
  createdAt: Date;
  id: string;
  /** The last transition listed of a transition batch; 0 after any other delivery. */
  position: number;
}

export interface ConnectionRow {
  id: string;
  audienceId: string;
  destinationId: string;
  destinationName: string;
  destinationType: DestinationType;
  backfill: boolean;
  send: SendTransitions;
  connectedAt: Date;
  /** Account audiences: the member condition choosing recipients (canonical text); null: every member with an email. */
  recipients: string | null;
}

export interface NewConnection {
  backfill: boolean;
  send: SendTransitions;
  connectedAt: Date;
  /** Account audiences: the member condition as AST and text. */
  recipients?: { ast: object; text: string };
}

export interface QueuedRef {
  id: string;
  destinationId: string;
}

const destinationFields = {
  id: true,
  type: true,
  name: true,
  config: true,
  rateLimitPerSecond: true,
  createdAt: true,
  updatedAt: true,
} as const;

/** Every query of the destinations API; all of them are scoped by workspace. */
@Injectable()
export class DestinationsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(
    workspaceId: string,
    data: { type: DestinationType; name: string; config: object; rateLimitPerSecond: number | null },
  ): Promise<DestinationRow> {
    return this.prisma.destination.create({
      data: { workspaceId, ...data },
      select: destinationFields,
    });
  }

  /** Oldest first, `take` rows after `after` (keyset on created_at, id). */
  async list(workspaceId: string, take: number, after?: CreatedCursor): Promise<DestinationRow[]> {
    return this.prisma.destination.findMany({
      where: {
        workspaceId,
        ...(after && {
          OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }],
        }),
      },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take,
      select: destinationFields,
    });
  }

  async find(workspaceId: string, id: string): Promise<DestinationRow | null> {
    return this.prisma.destination.findFirst({ where: { id, workspaceId }, select: destinationFields });
  }

  async update(
    workspaceId: string,
    id: string,
    data: { name?: string; config?: object; rateLimitPerSecond?: number | null },
  ): Promise<DestinationRow | null> {
    const { count } = await this.prisma.destination.updateMany({
      where: { id, workspaceId },
      data,
    });
    return count === 0 ? null : this.find(workspaceId, id);
  }

  async delete(workspaceId: string, id: string): Promise<boolean> {
    const { count } = await this.prisma.destination.deleteMany({ where: { id, workspaceId } });
    return count > 0;
  }

  /** Journeys that send through the destination (see journeysUsingSql). */
  async journeysUsing(workspaceId: string, destinationId: string): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ key: string }[]>(journeysUsingSql(workspaceId, { destinationId }));
    return rows.map((row) => row.key);
  }

  async counts(workspaceId: string, destinationId: string): Promise<Record<string, number>> {
    const rows = await this.prisma.$queryRaw<{ status: DeliveryStatus; count: number }[]>`
      SELECT status, sum(coalesce(cardinality(transition_ids), 1))::int AS count FROM deliveries
      WHERE workspace_id = ${workspaceId}::uuid AND destination_id = ${destinationId}::uuid
      GROUP BY status`;
    return Object.fromEntries(rows.map((row) => [row.status, row.count]));
  }

  /** Newest first, keyset-paginated on (created_at, id). */
  async pageDeliveries(
    workspaceId: string,
    destinationId: string,
    limit: number,
    status?: DeliveryStatus,
    after?: DeliveryCursor,
  ): Promise<DeliveryRow[]> {
    const statusFilter = status ? Prisma.sql`AND d.status = ${status}::delivery_status` : Prisma.empty;
    const keyset = after
      ? Prisma.sql`AND (d.created_at, d.id, coalesce(b.n, 0)) < (${after.createdAt}::timestamptz, ${after.id}::uuid, ${after.position}::bigint)`
      : Prisma.empty;
    return this.prisma.$queryRaw<DeliveryRow[]>`
      SELECT d.id, d.status::text AS status, d.attempts, d.last_error AS "lastError",
             d.provider_message_id AS "providerMessageId", d.next_attempt_at AS "nextAttemptAt",
             d.sent_at AS "sentAt", d.created_at AS "createdAt", d.updated_at AS "updatedAt",
             coalesce(d.transition_id, b.id) AS "transitionId", t.audience_id AS "audienceId", a.key AS "audienceKey",
             coalesce(t.profile_id, r.profile_id) AS "profileId",
             nullif(d.recipient_id, coalesce(t.profile_id, r.profile_id)) AS "recipientId",
             coalesce(t.kind::text, 'journey') AS kind, coalesce(t.at, h.left_at, d.created_at) AS at,
             CASE WHEN r.id IS NOT NULL THEN json_build_object(
               'id', j.id, 'key', j.key, 'version', r.version, 'runId', r.id, 'step', h.step_id, 'seq', d.journey_seq)
             END AS journey,
             coalesce(b.n, 0)::int AS position
      FROM deliveries d
      -- A transition batch is listed as one entry per transition, with the row's status.
      LEFT JOIN LATERAL unnest(d.transition_ids) WITH ORDINALITY b(id, n) ON true
      -- An audience sync's transition, or a journey run's step.
      LEFT JOIN audience_transitions t ON t.id = coalesce(d.transition_id, b.id)
      LEFT JOIN audiences a ON a.id = t.audience_id
      LEFT JOIN journey_runs r ON r.id = d.journey_run_id
      LEFT JOIN journeys j ON j.id = r.journey_id
      LEFT JOIN journey_run_steps h ON h.run_id = d.journey_run_id AND h.seq = d.journey_seq
      WHERE d.workspace_id = ${workspaceId}::uuid AND d.destination_id = ${destinationId}::uuid
        ${statusFilter} ${keyset}
      ORDER BY d.created_at DESC, d.id DESC, coalesce(b.n, 0) DESC
      LIMIT ${limit}`;
  }

  async audienceExists(workspaceId: string, audienceId: string): Promise<boolean> {
    return (await this.audienceLevel(workspaceId, audienceId)) !== null;
  }

  /** profile or account; null when the workspace has no such audience. */
  async audienceLevel(
    workspaceId: string,
    audienceId: string,
    tx: Tx = this.prisma,
  ): Promise<'profile' | 'account' | null> {
    const rows = await tx.$queryRaw<{ level: 'profile' | 'account' }[]>`
      SELECT level::text AS level FROM audiences WHERE id = ${audienceId}::uuid AND workspace_id = ${workspaceId}::uuid`;
    return rows[0]?.level ?? null;
  }

  /**
   * Runs `work` in a transaction holding the audience's lock (the one its computations and
   * real-time evaluations hold while writing memberships): a computation still running is waited
   * for, up to `waitMs` (then AudienceBusyError, and nothing done), so a backfill in `work` reads
   * the membership it wrote, and a computation that runs after `work` sees the connection.
   */
  async withAudienceLock<T>(audienceId: string, waitMs: number, work: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      return await this.prisma.$transaction(
        async (tx) => {
          await tx.$executeRaw(Prisma.sql`SELECT set_config('lock_timeout', ${`${waitMs}ms`}, true)`);
          await tx.$executeRaw(audienceLockSql(audienceId));
          await tx.$executeRaw(Prisma.sql`SELECT set_config('lock_timeout', '0', true)`);
          return work(tx);
        },
        { maxWait: 10_000, timeout: waitMs + 5 * 60_000 },
      );
    } catch (error) {
      if (postgresErrorCode(error) === '55P03') throw new AudienceBusyError(waitMs);
      throw error;
    }
  }

  async listConnections(workspaceId: string, audienceId: string): Promise<ConnectionRow[]> {
    return this.prisma.$queryRaw<ConnectionRow[]>`
      SELECT ad.id, ad.audience_id AS "audienceId", ad.destination_id AS "destinationId",
             dest.name AS "destinationName", dest.type::text AS "destinationType",
             ad.backfill, ad.send::text AS send, ad.connected_at AS "connectedAt", ad.recipients_text AS recipients
      FROM audience_destinations ad
      JOIN destinations dest ON dest.id = ad.destination_id
      WHERE ad.audience_id = ${audienceId}::uuid AND dest.workspace_id = ${workspaceId}::uuid
      ORDER BY ad.connected_at, ad.id`;
  }

  /** Answers undefined when the pair is already connected. */
  async connect(
    tx: Tx,
    audienceId: string,
    destinationId: string,
    connection: NewConnection,
  ): Promise<string | undefined> {
    const { backfill, send, connectedAt, recipients } = connection;
    const rows = await tx.$queryRaw<{ id: string }[]>`
      INSERT INTO audience_destinations (id, audience_id, destination_id, backfill, send, connected_at, recipients, recipients_text)
      VALUES (gen_random_uuid(), ${audienceId}::uuid, ${destinationId}::uuid, ${backfill}, ${send}::send_transitions,
              ${connectedAt}, ${recipients ? JSON.stringify(recipients.ast) : null}::jsonb, ${recipients?.text ?? null})
      ON CONFLICT (audience_id, destination_id) DO NOTHING
      RETURNING id`;
    return rows[0]?.id;
  }

  /**
   * One delivery for each current member's latest `entered` transition. The unique
   * (destination, transition, recipient) key makes it idempotent, also against the membership
   * engine writing the same delivery for someone who entered after the connection.
   */
  async backfill(tx: Tx, workspaceId: string, audienceId: string, destinationId: string): Promise<QueuedRef[]> {
    return tx.$queryRaw<QueuedRef[]>`
      INSERT INTO deliveries (id, workspace_id, destination_id, transition_id, status, created_at, updated_at)
      SELECT gen_random_uuid(), ${workspaceId}::uuid, ${destinationId}::uuid, latest.id, 'queued', now(), now()
      FROM audience_members m
      CROSS JOIN LATERAL (
        SELECT t.id FROM audience_transitions t
        WHERE t.audience_id = m.audience_id AND t.profile_id = m.profile_id AND t.kind = 'entered'
        ORDER BY t.at DESC, t.id DESC LIMIT 1
      ) latest
      WHERE m.audience_id = ${audienceId}::uuid
      ON CONFLICT DO NOTHING
      RETURNING id, destination_id AS "destinationId"`;
  }

  /**
   * An account audience's backfill: for each current member account's latest `entered`
   * transition, one delivery per recipient (`recipients`, a predicate over the member's profile
   * `p`). Idempotent by the unique (destination, transition, recipient) key, as backfill is.
   */
  async backfillAccounts(
    tx: Tx,
    workspaceId: string,
    audienceId: string,
    destinationId: string,
    recipients: Prisma.Sql,
  ): Promise<QueuedRef[]> {
    return tx.$queryRaw<QueuedRef[]>`
      INSERT INTO deliveries (id, workspace_id, destination_id, transition_id, recipient_id, status, created_at, updated_at)
      SELECT gen_random_uuid(), ${workspaceId}::uuid, ${destinationId}::uuid, latest.id, p.id, 'queued', now(), now()
      FROM audience_members m
      CROSS JOIN LATERAL (
        SELECT t.id FROM audience_transitions t
        WHERE t.audience_id = m.audience_id AND t.profile_id = m.profile_id AND t.kind = 'entered'
        ORDER BY t.at DESC, t.id DESC LIMIT 1
      ) latest
      JOIN group_memberships gm ON gm.group_id = m.profile_id
      JOIN profiles p ON p.id = gm.profile_id AND p.merged_into_id IS NULL
      WHERE m.audience_id = ${audienceId}::uuid AND (${recipients})
      ON CONFLICT DO NOTHING
      RETURNING id, destination_id AS "destinationId"`;
  }

  /**
   * Disconnects and skips what was still waiting. A delivery a worker is sending right now is let
   * finish; the worker also re-checks the connection before it sends.
   */
  async disconnect(workspaceId: string, audienceId: string, destinationId: string): Promise<boolean> {
    const [row] = await this.prisma.$queryRaw<{ removed: number }[]>`
      WITH removed AS (
        DELETE FROM audience_destinations ad USING destinations dest
        WHERE ad.audience_id = ${audienceId}::uuid AND ad.destination_id = ${destinationId}::uuid
          AND dest.id = ad.destination_id AND dest.workspace_id = ${workspaceId}::uuid
        RETURNING ad.id
      ),
      skipped AS (
        UPDATE deliveries d SET status = 'skipped', last_error = 'disconnected', claimed_until = NULL,
               next_attempt_at = NULL, updated_at = now()
        FROM audience_transitions t
        WHERE EXISTS (SELECT 1 FROM removed) AND d.transition_id = t.id AND t.audience_id = ${audienceId}::uuid
          AND d.destination_id = ${destinationId}::uuid AND d.status IN ('queued', 'failed')
        RETURNING d.id
      )
      SELECT (SELECT count(*) FROM removed)::int AS removed`;
    return (row?.removed ?? 0) > 0;
  }
}
