import { Injectable } from '@nestjs/common';

import { advisoryLockSql, workspaceDefinitionsLockSql } from '../database/audience-lock';
import { InteractiveDatabase } from '../database/interactive-database';
import { postgresErrorCode } from '../database/postgres-errors';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { TRAIT_LOCK_CLASS } from './trait-values.repository';
import { DuplicateTraitKeyError } from './traits.errors';

export type TraitStatus = 'pending' | 'computing' | 'ready' | 'failed';

export interface TraitRow {
  id: string;
  workspaceId: string;
  key: string;
  name: string;
  level: 'profile' | 'account';
  definitionAst: Prisma.JsonValue;
  definitionText: string;
  refreshIntervalSeconds: number;
  version: number;
  status: TraitStatus;
  statusReason: string | null;
  valueCount: number;
  lastComputedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewTrait {
  key: string;
  name: string;
  level: 'profile' | 'account';
  definitionAst: Prisma.InputJsonValue;
  definitionText: string;
  refreshIntervalSeconds: number;
  at: Date;
}

export interface TraitChanges {
  name?: string;
  definitionAst?: Prisma.InputJsonValue;
  definitionText?: string;
  refreshIntervalSeconds?: number;
  /** A new definition: bumps `version` and puts the trait back to pending. */
  bumpVersion: boolean;
  at: Date;
}

export interface AudienceDefinition {
  id: string;
  version: number;
  key: string;
  definitionAst: Prisma.JsonValue;
}

export interface PreviewRow {
  count: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  topValues: { value: unknown; count: number }[] | null;
  sample: { profileId?: string; accountId?: string; groupId?: string; value: unknown }[];
}

export interface ChangeRow {
  id: bigint;
  profileId: string;
  oldValue: unknown;
  newValue: unknown;
  at: Date;
}

const traitFields = {
  id: true,
  workspaceId: true,
  key: true,
  name: true,
  level: true,
  definitionAst: true,
  definitionText: true,
  refreshIntervalSeconds: true,
  version: true,
  status: true,
  statusReason: true,
  valueCount: true,
  lastComputedAt: true,
  createdAt: true,
  updatedAt: true,
} as const;

const UNIQUE_VIOLATION = '23505';

/** What a user narrows when a preview runs past the interactive time limit. */
const DEFINITION_SUBJECT = {
  field: 'definition',
  narrow: 'a shorter time window or event filters that match fewer events',
};
const LISTING_SUBJECT = { field: 'limit', narrow: 'a smaller page (limit)' };

/** Trait definitions, their preview and their history: the API side of computed traits. */
@Injectable()
export class TraitsRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly interactive: InteractiveDatabase,
  ) {}

  /**
   * Runs `work` holding the workspace's definitions lock — the audiences API's own (see
   * AudiencesRepository.withWorkspaceLock) — so that deleting a trait and saving an audience that
   * reads it cannot pass their checks at the same time.
   */
  async withWorkspaceLock<T>(workspaceId: string, work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw(workspaceDefinitionsLockSql(workspaceId));
        return work(tx);
      },
      { maxWait: 10_000, timeout: 30_000 },
    );
  }

  async insert(workspaceId: string, trait: NewTrait, tx: Tx): Promise<TraitRow> {
    const { at, ...fields } = trait;
    // Audiences read adoption scores (src/scores) as `computed <key>`, `<key>_band` and
    // `<key>_change_<N>d`: a trait may not take one of those keys. Scores check traits' keys the
    // same way, under the same workspace definitions lock.
    const [score] = await tx.$queryRaw<{ key: string }[]>`
      SELECT s.key FROM scores s
      WHERE s.workspace_id = ${workspaceId}::uuid
        AND (s.key = ${trait.key} OR s.key || '_band' = ${trait.key}
             OR ${trait.key} ~ ('^' || s.key || '_change_[1-9][0-9]{0,2}d$'))
      LIMIT 1`;
    if (score) throw new DuplicateTraitKeyError(trait.key, `adoption score "${score.key}"`);
    try {
      return await tx.computedTrait.create({
        data: { workspaceId, ...fields, createdAt: at, updatedAt: at },
        select: traitFields,
      });
    } catch (error) {
      if (postgresErrorCode(error) === UNIQUE_VIOLATION || isPrismaUniqueViolation(error)) {
        throw new DuplicateTraitKeyError(trait.key);
      }
      throw error;
    }
  }

  async find(workspaceId: string, id: string, tx: Tx = this.prisma): Promise<TraitRow | null> {
    return tx.computedTrait.findFirst({ where: { workspaceId, id }, select: traitFields });
  }

  /** By key, after `afterKey`. */
  async list(workspaceId: string, limit: number, afterKey?: string): Promise<TraitRow[]> {
    return this.prisma.computedTrait.findMany({
      where: { workspaceId, ...(afterKey === undefined ? {} : { key: { gt: afterKey } }) },
      orderBy: { key: 'asc' },
      take: limit,
      select: traitFields,
    });
  }

  async update(workspaceId: string, id: string, changes: TraitChanges, tx: Tx): Promise<TraitRow> {
    const { bumpVersion, at, ...fields } = changes;
    return tx.computedTrait.update({
      where: { id, workspaceId },
      data: {
        ...fields,
        updatedAt: at,
        ...(bumpVersion ? { version: { increment: 1 }, status: 'pending', statusReason: null } : {}),
      },
      select: traitFields,
    });
  }

  /**
   * The trait, its values and their history (no foreign keys cascade, see the migration), under the
   * trait's lock, so that a computation in flight finishes first and leaves no rows behind.
   */
  async delete(workspaceId: string, id: string, tx: Tx): Promise<void> {
    await tx.$executeRaw(advisoryLockSql(TRAIT_LOCK_CLASS, id));
    await tx.computedTrait.deleteMany({ where: { workspaceId, id } });
    await tx.$executeRaw`DELETE FROM computed_trait_values WHERE trait_id = ${id}::uuid`;
    await tx.$executeRaw`DELETE FROM computed_trait_history WHERE trait_id = ${id}::uuid`;
  }

  /** Every audience definition of the workspace: which of them read a trait is the language's to say. */
  /** The levels of the workspace's traits among `keys`, by key. */
  async traitLevels(workspaceId: string, keys: readonly string[], tx: Tx = this.prisma): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const rows = await tx.computedTrait.findMany({
      where: { workspaceId, key: { in: [...keys] } },
      select: { key: true, level: true },
    });
    return new Map(rows.map((row) => [row.key, row.level]));
  }

  /** The workspace's account-level traits (some read profile traits: `max computed x of members`). */
  async accountTraitDefinitions(
    workspaceId: string,
    tx: Tx = this.prisma,
  ): Promise<{ key: string; definitionAst: Prisma.JsonValue }[]> {
    return tx.computedTrait.findMany({
      where: { workspaceId, level: 'account' },
      select: { key: true, definitionAst: true },
    });
  }

  async audienceDefinitions(workspaceId: string, tx: Tx = this.prisma): Promise<AudienceDefinition[]> {
    return tx.audience.findMany({
      where: { workspaceId },
      select: { id: true, version: true, key: true, definitionAst: true },
    });
  }

  /**
   * Statistics and a sample of a trait's values as of now, in one statement over `target` (rows
   * of profile_id, value for the live profiles that have one): numbers get min/max/mean, values
   * their most common ones, lists the most common elements.
   */
  async preview(
    workspaceId: string,
    target: Prisma.Sql,
    kind: 'number' | 'value' | 'list',
    limit: number,
    level: 'profile' | 'account' = 'profile',
  ) {
    // An account trait's sample names the account (its id, as account audiences list it, and groupId).
    const subject =
      level === 'account'
        ? Prisma.sql`'accountId', s.profile_id, 'groupId', (SELECT g.group_id FROM groups g WHERE g.id = s.profile_id)`
        : Prisma.sql`'profileId', s.profile_id`;
    const tops =
      kind === 'list'
        ? Prisma.sql`SELECT x.value, count(*)::int AS count FROM target t CROSS JOIN LATERAL jsonb_array_elements(t.value) AS x(value) GROUP BY 1 ORDER BY 2 DESC, 1::text COLLATE "C" LIMIT 10`
        : Prisma.sql`SELECT t.value, count(*)::int AS count FROM target t GROUP BY 1 ORDER BY 2 DESC, 1::text COLLATE "C" LIMIT 10`;
    const numeric = Prisma.sql`(SELECT (t.value #>> '{}')::float8 AS n FROM target t WHERE jsonb_typeof(t.value) = 'number')`;
    const [row] = await this.interactive.query<PreviewRow>(
      workspaceId,
      Prisma.sql`WITH target AS MATERIALIZED (${target})
        SELECT (SELECT count(*)::int FROM target) AS count,
          (SELECT min(n) FROM ${numeric} s) AS min,
          (SELECT max(n) FROM ${numeric} s) AS max,
          (SELECT avg(n) FROM ${numeric} s) AS mean,
          (SELECT jsonb_agg(jsonb_build_object('value', v.value, 'count', v.count)) FROM (${tops}) v) AS "topValues",
          coalesce((SELECT jsonb_agg(jsonb_build_object(${subject}, 'value', s.value))
                    FROM (SELECT * FROM target LIMIT ${limit}::int) s), '[]'::jsonb) AS sample`,
      DEFINITION_SUBJECT,
    );
    return row ?? { count: 0, min: null, max: null, mean: null, topValues: null, sample: [] };
  }

  /** Changes of one trait in (at, id) order, optionally of one profile, after the cursor's. */
  async pageHistory(
    workspaceId: string,
    traitId: string,
    limit: number,
    options: { profileId?: string; after?: { at: Date; id: bigint } },
  ): Promise<ChangeRow[]> {
    const profile = options.profileId ? Prisma.sql`AND h.profile_id = ${options.profileId}::uuid` : Prisma.empty;
    const after = options.after
      ? Prisma.sql`AND (h.at, h.id) > (${options.after.at.toISOString()}::timestamptz, ${options.after.id}::bigint)`
      : Prisma.empty;
    const rows = await this.interactive.query<Omit<ChangeRow, 'id'> & { id: string }>(
      workspaceId,
      Prisma.sql`SELECT h.id::text AS id, h.profile_id::text AS "profileId", h.old_value AS "oldValue",
          h.new_value AS "newValue", h.at
        FROM computed_trait_history h
        WHERE h.workspace_id = ${workspaceId}::uuid AND h.trait_id = ${traitId}::uuid ${profile} ${after}
        ORDER BY h.at, h.id
        LIMIT ${limit}::int`,
      LISTING_SUBJECT,
    );
    return rows.map((row) => ({ ...row, id: BigInt(row.id) }));
  }
}

function isPrismaUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
