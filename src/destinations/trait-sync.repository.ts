import { Injectable } from '@nestjs/common';

import { advisoryLockSql } from '../database/audience-lock';
import { postgresErrorCode } from '../database/postgres-errors';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { TRAIT_LOCK_CLASS } from '../traits/trait-values.repository';
import { TraitBusyError } from './destinations.errors';
import type { QueuedRef } from './destinations.repository';

export interface TraitConnectionRow {
  id: string;
  traitId: string;
  destinationId: string;
  destinationName: string;
  destinationType: string;
  backfill: boolean;
  connectedAt: Date;
}

/**
 * Computed traits synced to destinations. The deliveries of later changes are written by the
 * trait_change_deliveries trigger on computed_trait_history (in the transaction that writes the
 * change); this repository connects, backfills and disconnects, and drains the outbox the triggers
 * fill.
 */
@Injectable()
export class TraitSyncRepository {
  constructor(private readonly prisma: PrismaService) {}

  async traitLevel(workspaceId: string, traitId: string): Promise<'profile' | 'account' | null> {
    const rows = await this.prisma.$queryRaw<{ level: 'profile' | 'account' }[]>`
      SELECT level::text AS level FROM computed_traits WHERE workspace_id = ${workspaceId}::uuid AND id = ${traitId}::uuid`;
    return rows[0]?.level ?? null;
  }

  /**
   * Holds the trait's lock (the one its computations hold), waiting at most `waitMs` for a running
   * computation: its changes were written before the connection, any later one sees it.
   */
  async withTraitLock<T>(traitId: string, waitMs: number, work: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      return await this.prisma.$transaction(
        async (tx) => {
          await tx.$executeRaw(Prisma.sql`SELECT set_config('lock_timeout', ${`${waitMs}ms`}, true)`);
          await tx.$executeRaw(advisoryLockSql(TRAIT_LOCK_CLASS, traitId));
          await tx.$executeRaw(Prisma.sql`SELECT set_config('lock_timeout', '0', true)`);
          return work(tx);
        },
        { maxWait: 10_000, timeout: waitMs + 5 * 60_000 },
      );
    } catch (error) {
      if (postgresErrorCode(error) === '55P03') throw new TraitBusyError(waitMs);
      throw error;
    }
  }

  async connect(
    tx: Tx,
    traitId: string,
    destinationId: string,
    backfill: boolean,
    connectedAt: Date,
  ): Promise<string | undefined> {
    const rows = await tx.$queryRaw<{ id: string }[]>`
      INSERT INTO trait_destinations (id, trait_id, destination_id, backfill, connected_at)
      VALUES (gen_random_uuid(), ${traitId}::uuid, ${destinationId}::uuid, ${backfill}, ${connectedAt})
      ON CONFLICT (trait_id, destination_id) DO NOTHING
      RETURNING id`;
    return rows[0]?.id;
  }

  /**
   * One delivery per current value: the value's latest history row (the change that set it), so
   * that the backfill and a delivery of that same change are one delivery (the unique
   * (destination, change) key).
   */
  async backfill(tx: Tx, workspaceId: string, traitId: string, destinationId: string): Promise<QueuedRef[]> {
    return tx.$queryRaw<QueuedRef[]>`
      INSERT INTO deliveries (id, workspace_id, destination_id, trait_change_id, status, created_at, updated_at)
      SELECT gen_random_uuid(), ${workspaceId}::uuid, ${destinationId}::uuid, latest.id, 'queued', now(), now()
      FROM computed_trait_values v
      CROSS JOIN LATERAL (
        SELECT h.id FROM computed_trait_history h
        WHERE h.trait_id = v.trait_id AND h.profile_id = v.profile_id
        ORDER BY h.at DESC, h.id DESC LIMIT 1
      ) latest
      WHERE v.trait_id = ${traitId}::uuid
      ON CONFLICT DO NOTHING
      RETURNING id, destination_id AS "destinationId"`;
  }

  async listConnections(workspaceId: string, traitId: string): Promise<TraitConnectionRow[]> {
    return this.prisma.$queryRaw<TraitConnectionRow[]>`
      SELECT td.id, td.trait_id AS "traitId", td.destination_id AS "destinationId",
             dest.name AS "destinationName", dest.type::text AS "destinationType",
             td.backfill, td.connected_at AS "connectedAt"
      FROM trait_destinations td JOIN destinations dest ON dest.id = td.destination_id
      WHERE td.trait_id = ${traitId}::uuid AND dest.workspace_id = ${workspaceId}::uuid
      ORDER BY td.connected_at, td.id`;
  }

  /** Disconnects and skips what was still waiting (a worker also re-checks the connection). */
  async disconnect(workspaceId: string, traitId: string, destinationId: string): Promise<boolean> {
    const [row] = await this.prisma.$queryRaw<{ removed: number }[]>`
      WITH removed AS (
        DELETE FROM trait_destinations td USING destinations dest
        WHERE td.trait_id = ${traitId}::uuid AND td.destination_id = ${destinationId}::uuid
          AND dest.id = td.destination_id AND dest.workspace_id = ${workspaceId}::uuid
        RETURNING td.id
      ),
      skipped AS (
        UPDATE deliveries d SET status = 'skipped', last_error = 'disconnected', claimed_until = NULL,
               next_attempt_at = NULL, updated_at = now()
        FROM computed_trait_history h
        WHERE EXISTS (SELECT 1 FROM removed) AND d.trait_change_id = h.id AND h.trait_id = ${traitId}::uuid
          AND d.destination_id = ${destinationId}::uuid AND d.status IN ('queued', 'failed')
        RETURNING d.id
      )
      SELECT (SELECT count(*) FROM removed)::int AS removed`;
    return (row?.removed ?? 0) > 0;
  }

  /**
   * Takes up to `limit` deliveries off the outbox and hands them to `enqueue` before the removal
   * commits: a failed enqueue leaves them in the outbox for the next drain. Returns how many.
   */
  async drainOutbox(limit: number, enqueue: (refs: QueuedRef[]) => Promise<void>): Promise<number> {
    return this.prisma.$transaction(async (tx) => {
      // A delivery deleted meanwhile (with its destination, say) leaves the outbox without a job.
      const refs = await tx.$queryRaw<QueuedRef[]>`
        WITH taken AS (
          DELETE FROM sync_outbox o
          WHERE o.delivery_id IN (SELECT delivery_id FROM sync_outbox LIMIT ${limit} FOR UPDATE SKIP LOCKED)
          RETURNING o.delivery_id, o.destination_id
        )
        SELECT t.delivery_id AS id, t.destination_id AS "destinationId"
        FROM taken t WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = t.delivery_id)`;
      if (refs.length > 0) await enqueue(refs);
      return refs.length;
    });
  }
}
