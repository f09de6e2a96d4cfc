import { Injectable } from '@nestjs/common';

import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { applyPendingSeen, applyPendingSeenSteps, SeenScope } from '../profiles/profile-seen';

/** Which traffic a change came from: live events are evaluated before bulk imports. */
export type ChangeLane = 'live' | 'bulk';

/** The most profiles one outbox row holds: a row of 100 uuids (1.6 kB) is stored inline, never TOASTed. */
export const PROFILES_PER_CHANGE = 100;

/** A profile of a claimed outbox row; the row's other profiles share its id. */
export interface ClaimedChange {
  /** The row's id, bigint as text. */
  id: string;
  profileId: string;
  lane: ChangeLane;
  createdAt: Date;
}

export interface ClaimRequest {
  workspaceId: string;
  /** At most this many profiles, give or take the last row taken. */
  limit: number;
  /** Profiles of the bulk lane a full batch keeps room for, so an import progresses under steady live traffic. */
  bulkReserve: number;
  leaseMs: number;
}

/** A row nobody holds: never claimed, or its claim ran out (its worker died). */
const claimable = Prisma.sql`(claimed_until IS NULL OR claimed_until < now())`;

/**
 * A batch's own rows, by primary key. The workspace is a filter the planner cannot use as an index
 * condition (`IS TRUE`): without statistics it estimated the workspace's rows of
 * (workspace_id, lane, id) as fewer than the batch's ids and scanned them all, in a bitmap that
 * never marks deleted entries dead, so completing a batch read every row the workspace ever queued
 * (142 ms and 311,000 buffers per batch of 500 in bench:realtime, the most expensive statement of
 * real-time evaluation).
 */
function heldRows(workspaceId: string, ids: readonly string[]): Prisma.Sql {
  return Prisma.sql`id = ANY(${ids}::bigint[]) AND (workspace_id = ${workspaceId}::uuid) IS TRUE`;
}

/**
 * The outbox of real-time evaluation (`profile_changes`), written by ingestion and identity
 * resolution in the same transaction as the change itself. Evaluation claims rows per workspace
 * with a lease, evaluates their profiles and only then deletes the rows, so Postgres is the queue:
 * a lost Redis job or a killed worker delays a change, never loses it.
 */
@Injectable()
export class ProfileChangesRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Claims claimable rows of one workspace holding up to `limit` profiles (a row holds up to
   * PROFILES_PER_CHANGE; the last row taken may go past the limit by less than that): live rows
   * first in id order, bulk rows after them, except that bulk keeps `bulkReserve` profiles of a
   * full batch. In profiles, with taken(live) = min(L, limit − min(reserve, B)) and
   * taken(bulk) = min(B, limit − taken(live)), a steady live stream is delayed by at most the
   * reserve and an import still moves. SKIP LOCKED: two claimers of one workspace (a retried job
   * next to its successor) take different rows. In the same statement (and commit) it applies the
   * first/last seen of the claimed profiles' events (profile-seen.ts), before anything evaluates them.
   * Returns a change per profile of each row taken.
   */
  async claim(request: ClaimRequest): Promise<ClaimedChange[]> {
    const { workspaceId, limit, bulkReserve, leaseMs } = request;
    const oldest = (name: ChangeLane, columns: Prisma.Sql, rows: Prisma.Sql) => Prisma.sql`
      SELECT ${columns} FROM profile_changes
      WHERE workspace_id = ${workspaceId}::uuid AND lane = ${name}::change_lane AND ${claimable}
      ORDER BY id LIMIT ${rows}`;
    // Each lane's oldest rows, with the profiles before each: as many rows as hold `limit` profiles
    // as the queue stands (read unlocked), then that many rows locked, skipping those another
    // claimer holds. Locking `limit` rows to keep a few would hold back a concurrent claimer.
    const sized = Prisma.sql`id, cardinality(profile_ids) AS n`;
    const withBefore = (rows: Prisma.Sql) =>
      Prisma.sql`SELECT id, n, sum(n) OVER (ORDER BY id) - n AS before FROM (${rows}) r`;
    const lane = (name: ChangeLane) =>
      withBefore(Prisma.sql`
        ${oldest(
          name,
          sized,
          Prisma.sql`(SELECT count(*) FROM (${withBefore(oldest(name, sized, Prisma.sql`${limit}::int`))}) w
                      WHERE w.before < ${limit}::int)`,
        )}
        FOR UPDATE SKIP LOCKED`);
    return this.prisma.query<ClaimedChange>(
      Prisma.sql`
      WITH live AS MATERIALIZED (${lane('live')}),
      bulk AS MATERIALIZED (${lane('bulk')}),
      live_quota AS (
        SELECT least((SELECT COALESCE(sum(n), 0) FROM live),
                     ${limit}::int - least(${bulkReserve}::int, (SELECT COALESCE(sum(n), 0) FROM bulk))) AS n
      ),
      live_picked AS (SELECT id, n FROM live WHERE before < (SELECT n FROM live_quota)),
      picked AS (
        SELECT id FROM live_picked
        UNION ALL
        SELECT id FROM bulk WHERE before < ${limit}::int - (SELECT COALESCE(sum(n), 0) FROM live_picked)
      ),
      claimed AS (
        UPDATE profile_changes c SET claimed_until = now() + ${leaseMs}::int * interval '1 millisecond'
        WHERE c.id = ANY(ARRAY(SELECT id FROM picked))
        RETURNING c.id, c.profile_ids, c.lane, c.created_at
      ),
      claimed_profiles AS (
        SELECT c.id, u.profile_id, u.n, c.lane, c.created_at
        FROM claimed c CROSS JOIN LATERAL unnest(c.profile_ids) WITH ORDINALITY AS u(profile_id, n)
      ),
      -- Before anything reads the claimed profiles, in the same commit as the claim.
      ${applyPendingSeenSteps({ workspaceId, profileIds: Prisma.sql`SELECT profile_id FROM claimed_profiles` })}
      SELECT id::text AS id, profile_id::text AS "profileId", lane::text AS lane, created_at AS "createdAt"
      FROM claimed_profiles cp ORDER BY cp.id, cp.n`,
      // Unnamed, so planned for the outbox as it is at each claim: a prepared claim's generic plan,
      // made while the outbox was nearly empty (after a drain), was kept at 200,000 rows and read
      // the whole table once per row claimed (21 s a claim in bench:realtime).
    );
  }

  /** A change to evaluate that arrived some other way (a job queued before outbox batches existed). */
  async add(workspaceId: string, profileId: string): Promise<void> {
    await this.prisma.query(
      Prisma.sql`INSERT INTO profile_changes (workspace_id, profile_ids) VALUES (${workspaceId}::uuid, ARRAY[${profileId}::uuid])`,
    );
  }

  /** Extends the claim of rows still being evaluated. */
  async renew(workspaceId: string, ids: string[], leaseMs: number): Promise<void> {
    await this.prisma.query(
      Prisma.sql`
      UPDATE profile_changes SET claimed_until = now() + ${leaseMs}::int * interval '1 millisecond'
      WHERE ${heldRows(workspaceId, ids)}`,
      'membership_renew_profile_changes',
    );
  }

  /** The rows' profiles are evaluated: they are done. */
  async complete(workspaceId: string, ids: string[]): Promise<void> {
    await this.prisma.query(
      Prisma.sql`DELETE FROM profile_changes WHERE ${heldRows(workspaceId, ids)}`,
      'membership_complete_profile_changes',
    );
  }

  /** Evaluation failed: the rows may be taken again after `delayMs` (not at once, so a failure does not spin). */
  async release(workspaceId: string, ids: string[], delayMs: number): Promise<void> {
    await this.prisma.query(
      Prisma.sql`
      UPDATE profile_changes SET claimed_until = now() + ${delayMs}::int * interval '1 millisecond'
      WHERE ${heldRows(workspaceId, ids)}`,
      'membership_release_profile_changes',
    );
  }

  /**
   * Applies the pending first/last seen of `scope` (see profile-seen.ts): of a batch's profiles
   * before they are evaluated, of a whole workspace before a full computation reads its profiles.
   * Returns how many profiles it updated.
   */
  async applySeen(scope: SeenScope): Promise<number> {
    // Unnamed, as the claim: planned for the outbox as it is.
    const [row] = await this.prisma.query<{ updated: number }>(applyPendingSeen(scope));
    return row?.updated ?? 0;
  }

  async hasClaimable(workspaceId: string): Promise<boolean> {
    const rows = await this.prisma.query<{ found: number }>(
      Prisma.sql`SELECT 1 AS found FROM profile_changes WHERE workspace_id = ${workspaceId}::uuid AND ${claimable} LIMIT 1`,
      'membership_has_claimable_changes',
    );
    return rows.length > 0;
  }

  /**
   * Rows deleted (or updated away) since the outbox was last vacuumed, as Postgres counts them
   * (pg_stat_user_tables; a backend reports its writes within about a second).
   */
  async deadRows(): Promise<number> {
    const rows = await this.prisma.query<{ dead: number }>(
      Prisma.sql`SELECT n_dead_tup::int AS dead FROM pg_stat_user_tables WHERE relid = 'profile_changes'::regclass`,
    );
    return rows[0]?.dead ?? 0;
  }

  /**
   * Reclaims the outbox's dead rows, so claims and deletes stop walking over them. Waits for no
   * lock, and leaves the table's length alone: truncating empty pages at its end takes a lock that
   * stops every claim (in bench:realtime, claims averaged 100 ms over the seconds around such a
   * vacuum, and a live event waited 7 s), and new rows fill those pages anyway.
   */
  async vacuum(): Promise<void> {
    await this.prisma.query(Prisma.sql`VACUUM (SKIP_LOCKED, TRUNCATE false) profile_changes`);
  }

  /**
   * Workspaces with claimable rows, installation-wide (the relay's safety net). A loose index scan
   * over (workspace_id, lane, id): one probe per workspace, however long its backlog.
   */
  async workspacesWithClaimableChanges(): Promise<string[]> {
    const rows = await this.prisma.query<{ workspaceId: string }>(
      Prisma.sql`
      WITH RECURSIVE ws AS (
        (SELECT workspace_id FROM profile_changes ORDER BY workspace_id LIMIT 1)
        UNION ALL
        SELECT (SELECT c.workspace_id FROM profile_changes c WHERE c.workspace_id > ws.workspace_id
                ORDER BY c.workspace_id LIMIT 1)
        FROM ws WHERE ws.workspace_id IS NOT NULL
      )
      SELECT ws.workspace_id::text AS "workspaceId" FROM ws
      WHERE ws.workspace_id IS NOT NULL
        AND EXISTS (SELECT 1 FROM profile_changes c WHERE c.workspace_id = ws.workspace_id AND ${claimable})`,
    );
    return rows.map((row) => row.workspaceId);
  }
}
