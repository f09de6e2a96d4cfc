import { Injectable } from '@nestjs/common';

import { DatabaseConfig } from '../config/app-config';
import { audienceLockSql, audienceLocksSql } from '../database/audience-lock';
import { InteractiveDatabase } from '../database/interactive-database';
import { liveProfileFilter } from '../database/live-profile-filter';
import { ANALYTICAL_SETTINGS, setLocal } from '../database/query-settings';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import { DirectTx, PrismaService } from '../prisma/prisma.service';
import type { DeliveryRef } from '../queues/delivery-queues.service';
import { BatchDiff, batchDiffStatement, DELIVERY_COLUMNS, profileDeliveries } from './batch-diff-statement';
import { COMPUTE_TRANSACTION_TIMEOUT_MS, inComputeLock } from './compute-lock';

export type AudienceStatus = 'pending' | 'computing' | 'ready' | 'failed';

export type SubjectLevel = 'profile' | 'account';

export interface AudienceRecord {
  id: string;
  workspaceId: string;
  key: string;
  /** profile: members are profiles; account: members are groups (their ids in profile_id columns). */
  level: SubjectLevel;
  definitionAst: unknown;
  includeHistoricalData: boolean;
  historyStartsAt: Date | null;
  refreshIntervalSeconds: number;
  version: number;
  status: AudienceStatus;
  createdAt: Date;
}

export interface ScheduleRecord {
  id: string;
  workspaceId: string;
  refreshIntervalSeconds: number;
  version: number;
  status: AudienceStatus;
}

/** An account audience's email connection: who of an entering or leaving account's members gets one. */
export interface RecipientRule {
  destinationId: string;
  /** A predicate over the member's profile row `p`. */
  predicate: Prisma.Sql;
}

export interface MembershipDiff {
  audienceId: string;
  workspaceId: string;
  version: number;
  now: Date;
  /** profile (the default): members are profiles; account: members are groups. */
  level?: SubjectLevel;
  /** The compiled definition: a predicate over the profile row `p`, or the group row `g` for accounts. */
  predicate: Prisma.Sql;
  /**
   * Restricts the diff to these profiles (incremental evaluation), or to these groups for an
   * account audience; all of them when absent.
   */
  profileIds?: string[];
  /** Account audiences: one delivery per transition and recipient of each rule's destination. */
  recipients?: readonly RecipientRule[];
}

export interface DiffResult {
  entered: number;
  exited: number;
  deliveries: DeliveryRef[];
}

export interface BatchDiffResult {
  /** Transitions per audience; audiences without any are absent. */
  byAudience: Map<string, { entered: number; exited: number }>;
  deliveries: DeliveryRef[];
}

export interface MemberRow {
  profileId: string;
  enteredAt: Date;
}

export interface TransitionRow {
  id: bigint;
  profileId: string;
  kind: 'entered' | 'exited';
  at: Date;
  audienceVersion: number;
}

export interface TransitionCursor {
  at: Date;
  id: bigint;
}

/** Listings page through indexes; only a broken index or a huge page could make them slow. */
const LISTING_SUBJECT = { field: 'limit', narrow: 'a smaller page (limit)' };

const audienceColumns = Prisma.sql`
  id, workspace_id AS "workspaceId", key, level::text AS level, definition_ast AS "definitionAst",
  include_historical_data AS "includeHistoricalData", history_starts_at AS "historyStartsAt",
  refresh_interval_seconds AS "refreshIntervalSeconds", version, status::text AS status,
  created_at AS "createdAt"`;

/**
 * An account audience: one delivery per transition, connected destination and recipient, the
 * recipients being the account's live members that pass the destination's rule. A destination
 * without a rule (connected while this evaluation read the rules) gets none.
 */
function accountDeliveries(rules: readonly RecipientRule[]): Prisma.Sql {
  const chosen =
    rules.length === 0
      ? Prisma.sql`FALSE`
      : Prisma.join(
          rules.map((rule) => Prisma.sql`(ad.destination_id = ${rule.destinationId}::uuid AND ${rule.predicate})`),
          ' OR ',
        );
  return Prisma.sql`
        SELECT gen_random_uuid(), t.workspace_id, ad.destination_id, t.id, p.id, NULL::bigint[]
        FROM transitions t
        JOIN audience_destinations ad ON ad.audience_id = t.audience_id
        JOIN group_memberships gm ON gm.group_id = t.profile_id
        JOIN profiles p ON p.id = gm.profile_id AND p.merged_into_id IS NULL
        WHERE (ad.send = 'both' OR ad.send::text = t.kind::text) AND t.at >= ad.connected_at AND (${chosen})`;
}

/**
 * `$queryRaw` and `$executeRaw` of a Prisma transaction (tagged template or Prisma.Sql) over a
 * direct transaction. Rows come as `pg` parses them (int8 and numeric as strings, where Prisma
 * gives bigint and Decimal): the methods run on it read int4, text, uuid, jsonb and timestamps only.
 */
function rawQueries(direct: DirectTx): Tx {
  const statement = (query: TemplateStringsArray | Prisma.Sql, values: unknown[]): Prisma.Sql =>
    query instanceof Prisma.Sql ? query : Prisma.sql(query, ...values);
  const raw = {
    $queryRaw: (query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]) =>
      direct.rows(statement(query, values)),
    $executeRaw: (query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]) =>
      direct.run(statement(query, values)),
  };
  return raw as unknown as Tx;
}

@Injectable()
export class MembershipRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly interactive: InteractiveDatabase,
    private readonly config: DatabaseConfig,
  ) {}

  /**
   * Runs `work` in one READ COMMITTED transaction holding the audience's advisory lock, so that
   * computations and evaluations of one audience serialize. Each statement after the lock takes a
   * fresh snapshot, so it sees everything committed before the lock was granted.
   */
  async withAudienceLock<T>(audienceId: string, work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw(audienceLockSql(audienceId));
        return work(tx);
      },
      { maxWait: 10_000, timeout: COMPUTE_TRANSACTION_TIMEOUT_MS },
    );
  }

  /**
   * withAudienceLock for several audiences in one transaction (a real-time batch evaluates every
   * audience of its workspace at once). Locks are taken in one statement, in audience id order —
   * the order every holder of several locks uses — so two batches cannot deadlock, and a full
   * computation holds one lock only.
   *
   * The transaction runs straight on the pool (PrismaService.directTransaction): for a batch of
   * 500 profiles Prisma's query engine spent about as much CPU on the batch's few statements (its
   * 500-id parameters, its rows) as Postgres spent running them. `work` gets the raw-query part of
   * a Prisma transaction over it (see rawQueries), so the same repository methods serve both.
   */
  async withAudienceLocks<T>(audienceIds: readonly string[], work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.directTransaction(async (direct) => {
      const tx = rawQueries(direct);
      await tx.$executeRaw(audienceLocksSql(audienceIds));
      // The compiled predicates are the same ones full computations run (see withComputeLock); JIT
      // compiling them costs more than evaluating a batch's few hundred profiles.
      await tx.$queryRaw(setLocal(ANALYTICAL_SETTINGS));
      return work(tx);
    });
  }

  /**
   * withAudienceLock for a full computation: once the lock is held (waiting for it is not
   * limited), each statement may run COMPUTE_STATEMENT_TIMEOUT_MS with the analytical settings; a
   * statement running longer ends the computation with ComputationTimeoutError, and the
   * transaction leaves the previous membership as it was.
   */
  async withComputeLock<T>(audienceId: string, work: (tx: Tx) => Promise<T>): Promise<T> {
    return inComputeLock(this.prisma, audienceLockSql(audienceId), this.config.COMPUTE_STATEMENT_TIMEOUT_MS, work);
  }

  async findAudience(workspaceId: string, audienceId: string, tx: Tx = this.prisma): Promise<AudienceRecord | null> {
    const rows = await tx.$queryRaw<AudienceRecord[]>`
      SELECT ${audienceColumns} FROM audiences
      WHERE workspace_id = ${workspaceId}::uuid AND id = ${audienceId}::uuid`;
    return rows[0] ?? null;
  }

  async listWorkspaceAudiences(workspaceId: string, tx: Tx = this.prisma): Promise<AudienceRecord[]> {
    return tx.$queryRaw<AudienceRecord[]>`
      SELECT ${audienceColumns} FROM audiences WHERE workspace_id = ${workspaceId}::uuid ORDER BY key`;
  }

  /** Every audience of every workspace: the schedule reconciliation at worker start is installation-wide. */
  async listAllSchedules(): Promise<ScheduleRecord[]> {
    return this.prisma.$queryRaw<ScheduleRecord[]>`
      SELECT id, workspace_id AS "workspaceId", refresh_interval_seconds AS "refreshIntervalSeconds",
             version, status::text AS status
      FROM audiences ORDER BY id`;
  }

  async audienceExists(workspaceId: string, audienceId: string): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<{ found: number }[]>`
      SELECT 1 AS found FROM audiences WHERE workspace_id = ${workspaceId}::uuid AND id = ${audienceId}::uuid`;
    return rows.length > 0;
  }

  /** Returns false when the audience no longer exists. */
  async markComputing(workspaceId: string, audienceId: string): Promise<boolean> {
    const updated = await this.prisma.$executeRaw`
      UPDATE audiences SET status = 'computing', status_reason = NULL
      WHERE workspace_id = ${workspaceId}::uuid AND id = ${audienceId}::uuid`;
    return updated > 0;
  }

  async markFailed(workspaceId: string, audienceId: string, reason: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE audiences SET status = 'failed', status_reason = ${reason.slice(0, 2_000)}
      WHERE workspace_id = ${workspaceId}::uuid AND id = ${audienceId}::uuid`;
  }

  /**
   * The whole diff in one statement: the target set (the compiled predicate), members to add
   * (target EXCEPT current) and to remove (current EXCEPT target) as hashed set operations (no
   * per-row probes, whatever the planner guesses about the CTEs' sizes), one ledger row per change
   * and one delivery row per change and connected destination. The data-modifying CTEs all see the
   * same snapshot, so `entered` and `exited` are disjoint by construction. With `profileIds`, target and
   * current members are restricted to those profiles and member_count moves by the difference
   * (a full computation recounts instead, see finishComputation).
   */
  async applyDiff(tx: Tx, diff: MembershipDiff): Promise<DiffResult> {
    const { audienceId, workspaceId, version, predicate, profileIds } = diff;
    const accounts = diff.level === 'account';
    const now = diff.now.toISOString();
    // For a few profiles, primary-key probes only (see liveProfileFilter).
    const profileFilter = profileIds
      ? Prisma.sql`p.id = ANY(${profileIds}::uuid[]) AND ${liveProfileFilter(workspaceId, 'p')}`
      : Prisma.sql`p.workspace_id = ${workspaceId}::uuid AND p.merged_into_id IS NULL`;
    const targetSet = accounts
      ? Prisma.sql`SELECT g.id FROM groups g WHERE ${
          profileIds
            ? Prisma.sql`g.id = ANY(${profileIds}::uuid[]) AND (g.workspace_id = ${workspaceId}::uuid) IS TRUE`
            : Prisma.sql`g.workspace_id = ${workspaceId}::uuid`
        } AND (${predicate})`
      : Prisma.sql`SELECT p.id FROM profiles p WHERE ${profileFilter} AND (${predicate})`;
    // A batch's current members by primary-key probes, one per profile: LATERAL … LIMIT 1 keeps the
    // planner from reading every member of the audience and filtering (what stale statistics made it
    // do: 36 ms instead of 2 for 500 profiles of a 58,000-member audience).
    const currentMembers = profileIds
      ? Prisma.sql`SELECT m.profile_id AS id FROM unnest(${profileIds}::uuid[]) AS b(id)
        CROSS JOIN LATERAL (
          SELECT m.profile_id FROM audience_members m
          WHERE m.audience_id = ${audienceId}::uuid AND m.profile_id = b.id LIMIT 1
        ) m`
      : Prisma.sql`SELECT m.profile_id AS id FROM audience_members m
        WHERE m.audience_id = ${audienceId}::uuid`;
    const countAdjustment = profileIds
      ? Prisma.sql`,
      counted AS (
        UPDATE audiences
        SET member_count = greatest(0, member_count + (SELECT count(*) FROM entered) - (SELECT count(*) FROM exited))
        WHERE id = ${audienceId}::uuid AND EXISTS (SELECT 1 FROM transitions)
        RETURNING 1
      )`
      : Prisma.empty;
    // Evaluating a batch of profiles: `events` is shadowed by those profiles' events, so every event
    // condition of the compiled predicate reads the batch's rows only. Conditions the compiler writes
    // as uncorrelated aggregates (`p.id IN (SELECT profile_id … GROUP BY profile_id HAVING …)`, the
    // fast form for a whole audience) would otherwise aggregate the workspace's events. NOT
    // MATERIALIZED: each reference is inlined with `profile_id = ANY(…)`, so a correlated condition
    // probes the (workspace_id, profile_id, …) index for its one profile; a materialized CTE has no
    // index and made those probes scan every event of the batch per profile (quadratic: 2.1 s instead
    // of 0.23 s for 20 audiences × 500 profiles). Inside its own definition the name still means the
    // table (the WITH is not RECURSIVE).
    // For a batch of accounts, the events of their members (member conditions read those only).
    const batchProfiles = accounts
      ? Prisma.sql`profile_id IN (SELECT gm.profile_id FROM group_memberships gm WHERE gm.group_id = ANY(${profileIds ?? []}::uuid[]))`
      : Prisma.sql`profile_id = ANY(${profileIds ?? []}::uuid[])`;
    const profileEvents = profileIds
      ? Prisma.sql`events AS NOT MATERIALIZED (
        SELECT * FROM events WHERE workspace_id = ${workspaceId}::uuid AND ${batchProfiles}
      ),`
      : Prisma.empty;
    const rows = await tx.$queryRaw<
      { entered: number; exited: number; id: string | null; destinationId: string | null }[]
    >`
      WITH ${profileEvents} target AS MATERIALIZED (
        ${targetSet}
      ),
      current AS MATERIALIZED (
        ${currentMembers}
      ),
      entered AS (
        INSERT INTO audience_members (audience_id, profile_id, entered_at)
        SELECT ${audienceId}::uuid, d.id, ${now}::timestamptz
        FROM (SELECT id FROM target EXCEPT SELECT id FROM current) d
        ON CONFLICT (audience_id, profile_id) DO NOTHING
        RETURNING profile_id
      ),
      exited AS (
        DELETE FROM audience_members m
        USING (SELECT id FROM current EXCEPT SELECT id FROM target) d
        WHERE m.audience_id = ${audienceId}::uuid AND m.profile_id = d.id
        RETURNING m.profile_id
      ),
      transitions AS (
        INSERT INTO audience_transitions (workspace_id, audience_id, profile_id, kind, at, audience_version)
        SELECT ${workspaceId}::uuid, ${audienceId}::uuid, profile_id, 'entered'::transition_kind, ${now}::timestamptz, ${version}::int
        FROM entered
        UNION ALL
        SELECT ${workspaceId}::uuid, ${audienceId}::uuid, profile_id, 'exited'::transition_kind, ${now}::timestamptz, ${version}::int
        FROM exited
        RETURNING id, workspace_id, audience_id, profile_id, kind, at
      ),
      deliveries AS (
        INSERT INTO deliveries ${DELIVERY_COLUMNS}
        ${accounts ? accountDeliveries(diff.recipients ?? []) : profileDeliveries}
        ON CONFLICT DO NOTHING
        RETURNING id, destination_id
      )${countAdjustment},
      summary AS (
        SELECT (SELECT count(*) FROM entered)::int AS entered, (SELECT count(*) FROM exited)::int AS exited
      )
      SELECT s.entered, s.exited, d.id::text AS id, d.destination_id::text AS "destinationId"
      FROM summary s LEFT JOIN deliveries d ON true`;
    const first = rows[0];
    return {
      entered: first?.entered ?? 0,
      exited: first?.exited ?? 0,
      deliveries: rows.flatMap((row) =>
        row.id !== null && row.destinationId !== null ? [{ id: row.id, destinationId: row.destinationId }] : [],
      ),
    };
  }

  /** Several profile audiences that do not refer to each other, over one batch: see batchDiffStatement. */
  async applyBatchDiff(tx: Tx, diff: BatchDiff): Promise<BatchDiffResult> {
    const result: BatchDiffResult = { byAudience: new Map(), deliveries: [] };
    if (diff.audiences.length === 0 || diff.profileIds.length === 0) return result;
    const rows = await tx.$queryRaw<
      {
        audienceId: string | null;
        entered: number | null;
        exited: number | null;
        id: string | null;
        destinationId: string | null;
      }[]
    >(batchDiffStatement(diff));
    for (const row of rows) {
      if (row.audienceId !== null) {
        result.byAudience.set(row.audienceId, { entered: row.entered ?? 0, exited: row.exited ?? 0 });
      } else if (row.id !== null && row.destinationId !== null) {
        result.deliveries.push({ id: row.id, destinationId: row.destinationId });
      }
    }
    return result;
  }

  /** The accounts (group row ids) of these profiles: the accounts a real-time batch re-evaluates. */
  async accountsOf(tx: Tx, workspaceId: string, profileIds: readonly string[]): Promise<string[]> {
    const rows = await tx.$queryRaw<{ id: string }[]>`
      SELECT DISTINCT gm.group_id::text AS id
      FROM group_memberships gm JOIN groups g ON g.id = gm.group_id
      WHERE gm.profile_id = ANY(${[...profileIds]}::uuid[]) AND g.workspace_id = ${workspaceId}::uuid
      ORDER BY 1`;
    return rows.map((row) => row.id);
  }

  /** An account audience's email connections and their member conditions (null: every member with an email). */
  async recipientRules(tx: Tx, audienceId: string): Promise<{ destinationId: string; recipients: unknown }[]> {
    return tx.$queryRaw<{ destinationId: string; recipients: unknown }[]>`
      SELECT ad.destination_id::text AS "destinationId", ad.recipients
      FROM audience_destinations ad JOIN destinations d ON d.id = ad.destination_id
      WHERE ad.audience_id = ${audienceId}::uuid AND d.type = 'email'
      ORDER BY ad.destination_id`;
  }

  /** After a full computation: ready, counted, stamped. Returns the member count. */
  async finishComputation(tx: Tx, audienceId: string, now: Date): Promise<number> {
    const rows = await tx.$queryRaw<{ memberCount: number }[]>`
      UPDATE audiences
      SET status = 'ready', status_reason = NULL, last_computed_at = ${now.toISOString()}::timestamptz,
          member_count = (SELECT count(*) FROM audience_members WHERE audience_id = ${audienceId}::uuid)
      WHERE id = ${audienceId}::uuid
      RETURNING member_count AS "memberCount"`;
    return rows[0]?.memberCount ?? 0;
  }

  /** Members in profile id order (the primary key's order), after `afterProfileId`. */
  async pageMembers(
    workspaceId: string,
    audienceId: string,
    limit: number,
    afterProfileId?: string,
  ): Promise<MemberRow[]> {
    const after = afterProfileId ? Prisma.sql`AND m.profile_id > ${afterProfileId}::uuid` : Prisma.empty;
    return this.interactive.query<MemberRow>(
      workspaceId,
      Prisma.sql`
      SELECT m.profile_id::text AS "profileId", m.entered_at AS "enteredAt"
      FROM audience_members m JOIN audiences a ON a.id = m.audience_id
      WHERE a.workspace_id = ${workspaceId}::uuid AND m.audience_id = ${audienceId}::uuid ${after}
      ORDER BY m.profile_id
      LIMIT ${limit}::int`,
      LISTING_SUBJECT,
    );
  }

  /** The ledger in (at, id) order, served by audience_transitions(audience_id, at). */
  async pageTransitions(
    workspaceId: string,
    audienceId: string,
    limit: number,
    options: { after?: TransitionCursor; profileId?: string } = {},
  ): Promise<TransitionRow[]> {
    const { after, profileId } = options;
    const afterClause = after
      ? Prisma.sql`AND (t.at, t.id) > (${after.at.toISOString()}::timestamptz, ${after.id}::bigint)`
      : Prisma.empty;
    const profileClause = profileId ? Prisma.sql`AND t.profile_id = ${profileId}::uuid` : Prisma.empty;
    const rows = await this.interactive.query<Omit<TransitionRow, 'id'> & { id: string }>(
      workspaceId,
      Prisma.sql`
      SELECT t.id::text AS id, t.profile_id::text AS "profileId", t.kind::text AS kind, t.at, t.audience_version AS "audienceVersion"
      FROM audience_transitions t
      WHERE t.workspace_id = ${workspaceId}::uuid AND t.audience_id = ${audienceId}::uuid ${profileClause} ${afterClause}
      ORDER BY t.at, t.id
      LIMIT ${limit}::int`,
      LISTING_SUBJECT,
    );
    return rows.map((row) => ({ ...row, id: BigInt(row.id) }));
  }
}
