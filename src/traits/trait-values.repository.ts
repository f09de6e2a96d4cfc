import { Injectable } from '@nestjs/common';

import { DatabaseConfig } from '../config/app-config';
import { advisoryLockSql, advisoryLocksSql } from '../database/audience-lock';
import { liveProfileFilter } from '../database/live-profile-filter';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import { inBatchLocks, inComputeLock } from '../membership/compute-lock';
import { PrismaService } from '../prisma/prisma.service';
import { AccountTraitAst } from './language/account-trait-ast';
import { accountTraitTargetQuery, compileAccountTrait } from './language/compiler/account-values';
import { CompiledTrait, traitTargetQuery } from './language/compiler/trait-compiler';
import type { TraitStatus } from './traits.repository';

export interface TraitRecord {
  id: string;
  workspaceId: string;
  key: string;
  level: 'profile' | 'account';
  definitionAst: unknown;
  refreshIntervalSeconds: number;
  version: number;
  status: TraitStatus;
}

export interface ValuesUpdate {
  traitId: string;
  workspaceId: string;
  now: Date;
  compiled: CompiledTrait;
  /** Restricts the update to these profiles (real-time evaluation); all profiles when absent. */
  profileIds?: readonly string[];
}

export interface AccountValuesUpdate {
  traitId: string;
  workspaceId: string;
  now: Date;
  ast: AccountTraitAst;
  /** Restricts the update to these accounts (real-time evaluation); all accounts when absent. */
  accountIds?: readonly string[];
}

export interface ValuesOutcome {
  /** Profiles whose value changed (appeared, changed or went away); one history row each. */
  changed: number;
}

/** Trait locks have their own advisory lock class, apart from the audiences' ("memb"). */
export const TRAIT_LOCK_CLASS = 0x74726169; // "trai"

const traitColumns = Prisma.sql`
  id, workspace_id AS "workspaceId", key, level::text AS level, definition_ast AS "definitionAst",
  refresh_interval_seconds AS "refreshIntervalSeconds", version, status::text AS status`;

/**
 * Computed trait values: the statement that brings a trait's stored values in line with its
 * definition (for every profile, or for a batch), under the trait's advisory lock, writing a history
 * row for every value that changed. The worker side of computed traits.
 */
@Injectable()
export class TraitValuesRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly config: DatabaseConfig,
  ) {}

  /**
   * A full computation: one transaction holding the trait's lock, each statement limited to
   * COMPUTE_STATEMENT_TIMEOUT_MS; a timeout leaves the previous values as they were.
   */
  async withComputeLock<T>(traitId: string, work: (tx: Tx) => Promise<T>): Promise<T> {
    return inComputeLock(
      this.prisma,
      advisoryLockSql(TRAIT_LOCK_CLASS, traitId),
      this.config.COMPUTE_STATEMENT_TIMEOUT_MS,
      work,
    );
  }

  /**
   * A real-time batch: every trait's lock, taken in one statement in id order (the order every
   * holder of several uses), so two batches cannot deadlock and a full computation holds one.
   */
  async withTraitLocks<T>(traitIds: readonly string[], work: (tx: Tx) => Promise<T>): Promise<T> {
    return inBatchLocks(this.prisma, advisoryLocksSql(TRAIT_LOCK_CLASS, traitIds), work);
  }

  async findTrait(workspaceId: string, traitId: string, tx: Tx = this.prisma): Promise<TraitRecord | null> {
    const rows = await tx.$queryRaw<TraitRecord[]>`
      SELECT ${traitColumns} FROM computed_traits WHERE workspace_id = ${workspaceId}::uuid AND id = ${traitId}::uuid`;
    return rows[0] ?? null;
  }

  /** The workspace's traits, profile-level first, then by key. */
  async listTraits(workspaceId: string, tx: Tx = this.prisma): Promise<TraitRecord[]> {
    return tx.$queryRaw<TraitRecord[]>`
      SELECT ${traitColumns} FROM computed_traits
      WHERE workspace_id = ${workspaceId}::uuid ORDER BY level, key`;
  }

  /** Every trait of every workspace: schedule reconciliation at worker start is installation-wide. */
  async listAllTraits(): Promise<TraitRecord[]> {
    return this.prisma.$queryRaw<TraitRecord[]>`SELECT ${traitColumns} FROM computed_traits ORDER BY id`;
  }

  /** Returns false when the trait no longer exists. */
  async markComputing(workspaceId: string, traitId: string): Promise<boolean> {
    const updated = await this.prisma.$executeRaw`
      UPDATE computed_traits SET status = 'computing', status_reason = NULL
      WHERE workspace_id = ${workspaceId}::uuid AND id = ${traitId}::uuid`;
    return updated > 0;
  }

  async markFailed(workspaceId: string, traitId: string, reason: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE computed_traits SET status = 'failed', status_reason = ${reason.slice(0, 2_000)}
      WHERE workspace_id = ${workspaceId}::uuid AND id = ${traitId}::uuid`;
  }

  /** After a full computation: ready, counted, stamped. */
  async finishComputation(tx: Tx, traitId: string, now: Date): Promise<number> {
    const rows = await tx.$queryRaw<{ valueCount: number }[]>`
      UPDATE computed_traits
      SET status = 'ready', status_reason = NULL, last_computed_at = ${now.toISOString()}::timestamptz,
          value_count = (SELECT count(*) FROM computed_trait_values WHERE trait_id = ${traitId}::uuid)
      WHERE id = ${traitId}::uuid
      RETURNING value_count AS "valueCount"`;
    return rows[0]?.valueCount ?? 0;
  }

  /** The audiences of the workspace, for the ones that read a trait to be recomputed after it. */
  async audienceDefinitions(
    workspaceId: string,
  ): Promise<{ id: string; key: string; version: number; definitionAst: unknown }[]> {
    return this.prisma.$queryRaw`
      SELECT id, key, version, definition_ast AS "definitionAst" FROM audiences WHERE workspace_id = ${workspaceId}::uuid`;
  }

  /**
   * Brings stored values in line with the target ones, one statement (see valuesDiffStatement). A
   * full computation of a trait without any stored value (its first) writes values and history
   * straight from the target instead (initialValuesStatement): there is nothing to compare with.
   */
  async applyValues(tx: Tx, update: ValuesUpdate): Promise<ValuesOutcome> {
    const { profileIds } = update;
    return this.write(tx, update, profileTarget(update), profileIds && { ids: profileIds, profiles: true });
  }

  /** As applyValues for an account-level trait: one value per account, over its members. */
  async applyAccountValues(tx: Tx, update: AccountValuesUpdate): Promise<ValuesOutcome> {
    const ctx = { workspaceId: update.workspaceId, now: update.now };
    const scope = update.accountIds ? { accountIds: update.accountIds } : {};
    const target = accountTraitTargetQuery(compileAccountTrait(update.ast, ctx, scope), ctx, scope);
    return this.write(tx, update, target, update.accountIds && { ids: update.accountIds, profiles: false });
  }

  /** The accounts (group ids) of these profiles: whose account traits a real-time batch moves. */
  async accountsOf(tx: Tx, workspaceId: string, profileIds: readonly string[]): Promise<string[]> {
    const rows = await tx.$queryRaw<{ id: string }[]>`
      SELECT DISTINCT g.id::text AS id FROM group_memberships gm JOIN groups g ON g.id = gm.group_id
      WHERE gm.profile_id = ANY(${[...profileIds]}::uuid[]) AND g.workspace_id = ${workspaceId}::uuid
      ORDER BY 1`;
    return rows.map((row) => row.id);
  }

  private async write(
    tx: Tx,
    update: SubjectsUpdate,
    target: Prisma.Sql,
    subjects: BatchSubjects | undefined,
  ): Promise<ValuesOutcome> {
    if (!subjects && (await this.hasNoValues(tx, update.traitId))) {
      return { changed: await tx.$executeRaw(initialValuesStatement(update, target)) };
    }
    const rows = await tx.$queryRaw<{ changed: number }[]>(valuesDiffStatement(update, target, subjects));
    return { changed: rows[0]?.changed ?? 0 };
  }

  private async hasNoValues(tx: Tx, traitId: string): Promise<boolean> {
    const rows = await tx.$queryRaw<{ empty: boolean }[]>`
      SELECT NOT EXISTS (SELECT 1 FROM computed_trait_values WHERE trait_id = ${traitId}::uuid) AS empty`;
    return rows[0]?.empty ?? false;
  }
}

/** The subjects of a real-time batch: profiles (their events shadow `events`) or accounts. */
export interface BatchSubjects {
  ids: readonly string[];
  profiles: boolean;
}

/** What every values statement is about: one trait, as of `now`. */
export interface SubjectsUpdate {
  traitId: string;
  workspaceId: string;
  now: Date;
}

/**
 * The first full computation of a trait (no stored value for it, checked under the trait's lock,
 * which every writer of its values holds): the target values are inserted and each inserted row is
 * logged from RETURNING, so the definition is evaluated once and nothing is compared. Its row count
 * is the number of values written, each one a change from "no value".
 */
export function initialValuesStatement(update: SubjectsUpdate, target: Prisma.Sql): Prisma.Sql {
  const { traitId, workspaceId } = update;
  const now = update.now.toISOString();
  return Prisma.sql`
    WITH inserted AS (
      INSERT INTO computed_trait_values (trait_id, workspace_id, profile_id, value, updated_at)
      SELECT ${traitId}::uuid, ${workspaceId}::uuid, t.profile_id, t.value, ${now}::timestamptz
      FROM (${target}) t
      RETURNING profile_id, value
    )
    INSERT INTO computed_trait_history (workspace_id, trait_id, profile_id, old_value, new_value, at)
    SELECT ${workspaceId}::uuid, ${traitId}::uuid, profile_id, NULL, value, ${now}::timestamptz FROM inserted`;
}

/**
 * The statement of a profile trait's applyValues when values are stored already (exported for
 * bench:traits, which times exactly what the engine runs).
 */
export function traitValuesStatement(update: ValuesUpdate): Prisma.Sql {
  const { profileIds } = update;
  return valuesDiffStatement(update, profileTarget(update), profileIds && { ids: profileIds, profiles: true });
}

/** A profile trait's target values: of the batch's live profiles, or of every live profile. */
function profileTarget(update: ValuesUpdate): Prisma.Sql {
  const { workspaceId, compiled, profileIds } = update;
  const profiles = profileIds
    ? Prisma.sql`p.id = ANY(${[...profileIds]}::uuid[]) AND ${liveProfileFilter(workspaceId, 'p')}`
    : Prisma.sql`p.workspace_id = ${workspaceId}::uuid AND p.merged_into_id IS NULL`;
  return traitTargetQuery(compiled, profiles);
}

/**
 * One statement: the target values, the stored ones, the difference by subject (a full join:
 * appeared, changed, gone), written back as upserts and deletes with a history row per change.
 * Values equal as jsonb are not changes, so a recomputation that changes nothing writes nothing.
 * With `subjects` (a real-time batch), `events` is shadowed by those profiles' events (as audience
 * evaluation does, see MembershipRepository.applyDiff) — unless the target brings its own (account
 * traits over members' events) — and the stored values are read by primary key; a merged-away or
 * erased profile is in no target, so its values go away.
 */
export function valuesDiffStatement(
  update: SubjectsUpdate,
  target: Prisma.Sql,
  subjects: BatchSubjects | undefined,
): Prisma.Sql {
  const { traitId, workspaceId } = update;
  const now = update.now.toISOString();
  const profileEvents = subjects?.profiles
    ? Prisma.sql`events AS NOT MATERIALIZED (
      SELECT * FROM events WHERE workspace_id = ${workspaceId}::uuid AND profile_id = ANY(${[...subjects.ids]}::uuid[])
    ),`
    : Prisma.empty;
  const current = subjects
    ? Prisma.sql`SELECT v.profile_id, v.value FROM unnest(${[...subjects.ids]}::uuid[]) AS b(id)
        JOIN computed_trait_values v ON v.trait_id = ${traitId}::uuid AND v.profile_id = b.id`
    : Prisma.sql`SELECT v.profile_id, v.value FROM computed_trait_values v WHERE v.trait_id = ${traitId}::uuid`;
  return Prisma.sql`
    WITH ${profileEvents} target AS MATERIALIZED (
      ${target}
    ),
    current AS MATERIALIZED (
      ${current}
    ),
    changed AS MATERIALIZED (
      SELECT coalesce(t.profile_id, c.profile_id) AS profile_id, c.value AS old_value, t.value AS new_value
      FROM target t FULL JOIN current c ON c.profile_id = t.profile_id
      WHERE t.value IS DISTINCT FROM c.value
    ),
    upserted AS (
      INSERT INTO computed_trait_values (trait_id, workspace_id, profile_id, value, updated_at)
      SELECT ${traitId}::uuid, ${workspaceId}::uuid, profile_id, new_value, ${now}::timestamptz
      FROM changed WHERE new_value IS NOT NULL
      ON CONFLICT (trait_id, profile_id) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
      RETURNING 1
    ),
    removed AS (
      DELETE FROM computed_trait_values v USING changed c
      WHERE v.trait_id = ${traitId}::uuid AND v.profile_id = c.profile_id AND c.new_value IS NULL
      RETURNING 1
    ),
    logged AS (
      INSERT INTO computed_trait_history (workspace_id, trait_id, profile_id, old_value, new_value, at)
      SELECT ${workspaceId}::uuid, ${traitId}::uuid, profile_id, old_value, new_value, ${now}::timestamptz
      FROM changed
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM changed)::int AS changed,
      (SELECT count(*) FROM upserted)::int + (SELECT count(*) FROM removed)::int + (SELECT count(*) FROM logged)::int AS written`;
}
