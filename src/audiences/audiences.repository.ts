import { Injectable } from '@nestjs/common';

import { workspaceDefinitionsLockSql } from '../database/audience-lock';
import { InteractiveDatabase } from '../database/interactive-database';
import { journeysUsingSql } from '../database/journey-references';
import { postgresErrorCode } from '../database/postgres-errors';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { DuplicateAudienceKeyError } from './audiences.errors';

export type AudienceStatus = 'pending' | 'computing' | 'ready' | 'failed';
export type SubjectLevel = 'profile' | 'account';

export interface AudienceRow {
  id: string;
  workspaceId: string;
  key: string;
  name: string;
  level: SubjectLevel;
  definitionAst: Prisma.JsonValue;
  definitionText: string;
  includeHistoricalData: boolean;
  historyStartsAt: Date | null;
  refreshIntervalSeconds: number;
  version: number;
  status: AudienceStatus;
  statusReason: string | null;
  memberCount: number;
  lastComputedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What the reference graph needs of every audience of a workspace. */
export interface AudienceDefinitionRow {
  id: string;
  key: string;
  version: number;
  level: SubjectLevel;
  definitionAst: Prisma.JsonValue;
}

export interface NewAudience {
  key: string;
  name: string;
  level: SubjectLevel;
  definitionAst: Prisma.InputJsonValue;
  definitionText: string;
  includeHistoricalData: boolean;
  historyStartsAt: Date | null;
  refreshIntervalSeconds: number;
  at: Date;
}

export interface AudienceChanges {
  name?: string;
  definitionAst?: Prisma.InputJsonValue;
  definitionText?: string;
  includeHistoricalData?: boolean;
  historyStartsAt?: Date | null;
  refreshIntervalSeconds?: number;
  /** A new definition version: bumps `version` and puts the audience back to pending. */
  bumpVersion: boolean;
  at: Date;
}

export interface SampleAccountRow {
  groupId: string;
  traits: Prisma.JsonValue;
  memberCount: number;
}

export interface SampleRow {
  profileId: string;
  traits: Prisma.JsonValue;
  identities: { type: string; value: string }[];
}

const audienceFields = {
  id: true,
  workspaceId: true,
  key: true,
  name: true,
  level: true,
  definitionAst: true,
  definitionText: true,
  includeHistoricalData: true,
  historyStartsAt: true,
  refreshIntervalSeconds: true,
  version: true,
  status: true,
  statusReason: true,
  memberCount: true,
  lastComputedAt: true,
  createdAt: true,
  updatedAt: true,
} as const;

const UNIQUE_VIOLATION = '23505';

/** The profiles an audience predicate (over `p`) selects: the workspace's live, unmerged profiles. */
function matchingProfiles(workspaceId: string, predicate: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`FROM profiles p WHERE p.workspace_id = ${workspaceId}::uuid AND p.merged_into_id IS NULL AND ${predicate}`;
}

/** The accounts an account predicate (over `g`) selects: the workspace's groups. */
function matchingAccounts(workspaceId: string, predicate: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`FROM groups g WHERE g.workspace_id = ${workspaceId}::uuid AND ${predicate}`;
}

/** The count query of a compiled predicate; also what `explain` shows and the benchmark times. */
export function audienceCountQuery(
  workspaceId: string,
  predicate: Prisma.Sql,
  level: SubjectLevel = 'profile',
): Prisma.Sql {
  const matching =
    level === 'account' ? matchingAccounts(workspaceId, predicate) : matchingProfiles(workspaceId, predicate);
  return Prisma.sql`SELECT count(*)::int AS count ${matching}`;
}

/** Count and sample of an account preview: any `limit` matching accounts with their member counts. */
export function accountPreviewQuery(workspaceId: string, predicate: Prisma.Sql, limit: number): Prisma.Sql {
  return Prisma.sql`WITH matching AS MATERIALIZED (SELECT g.id ${matchingAccounts(workspaceId, predicate)})
    SELECT (SELECT count(*)::int FROM matching) AS count,
      coalesce((SELECT jsonb_agg(jsonb_build_object('groupId', g.group_id, 'traits', g.traits,
                  'memberCount', (SELECT count(*) FROM group_memberships gm JOIN profiles p ON p.id = gm.profile_id
                                  WHERE gm.group_id = g.id AND p.merged_into_id IS NULL)))
        FROM (SELECT id FROM matching LIMIT ${limit}) m JOIN groups g ON g.id = m.id), '[]'::jsonb) AS sample`;
}

/**
 * Count and sample of a preview in one statement: the predicate is planned and evaluated once, and
 * a preview takes one interactive connection. The sample is any `limit` matching profiles with
 * their identities (no ORDER BY).
 */
export function audiencePreviewQuery(workspaceId: string, predicate: Prisma.Sql, limit: number): Prisma.Sql {
  return Prisma.sql`WITH matching AS MATERIALIZED (SELECT p.id ${matchingProfiles(workspaceId, predicate)})
    SELECT (SELECT count(*)::int FROM matching) AS count,
      coalesce((SELECT jsonb_agg(jsonb_build_object('profileId', s.id, 'traits', s.traits, 'identities', s.identities))
        FROM (SELECT p.id, p.traits,
                coalesce((SELECT jsonb_agg(jsonb_build_object('type', i.type, 'value', i.value) ORDER BY i.type, i.value)
                          FROM identities i WHERE i.workspace_id = p.workspace_id AND i.profile_id = p.id), '[]'::jsonb) AS identities
              FROM (SELECT id FROM matching LIMIT ${limit}) m JOIN profiles p ON p.id = m.id) s), '[]'::jsonb) AS sample`;
}

/** What a user narrows when a preview or explain runs past the interactive time limit. */
const DEFINITION_SUBJECT = {
  field: 'definition',
  narrow:
    'fewer or more selective conditions, shorter time windows, event filters that match fewer events, ' +
    'or fewer steps in a sequence',
};

@Injectable()
export class AudiencesRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly interactive: InteractiveDatabase,
  ) {}

  /**
   * Runs `work` in a transaction holding the workspace's audience lock, so that two concurrent
   * edits cannot each pass the cycle check and together close a cycle (or delete a referenced one).
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

  /** The levels of the workspace's computed traits among `keys` (definitions may read only those). */
  async traitLevels(
    workspaceId: string,
    keys: readonly string[],
    tx: Tx = this.prisma,
  ): Promise<Map<string, SubjectLevel>> {
    if (keys.length === 0) return new Map();
    const rows = await tx.computedTrait.findMany({
      where: { workspaceId, key: { in: [...keys] } },
      select: { key: true, level: true },
    });
    // Adoption scores (src/scores) are read as `computed <key>`, `<key>_band` and `<key>_change_<N>d`;
    // a computed trait of the same key wins, as in the compiler.
    const scores = await tx.$queryRaw<{ key: string; level: SubjectLevel }[]>`
      SELECT DISTINCT ON (k) k AS key, s.level::text AS level
        FROM unnest(${[...keys]}::text[]) AS k
        JOIN scores s ON s.workspace_id = ${workspaceId}::uuid
         AND (s.key = k OR s.key || '_band' = k OR k ~ ('^' || s.key || '_change_[1-9][0-9]{0,2}d$'))`;
    return new Map([...scores, ...rows].map((row) => [row.key, row.level]));
  }

  async listDefinitions(workspaceId: string, tx: Tx = this.prisma): Promise<AudienceDefinitionRow[]> {
    return tx.audience.findMany({
      where: { workspaceId },
      select: { id: true, key: true, version: true, level: true, definitionAst: true },
    });
  }

  /** By key, `take` rows after the key `afterKey`. */
  async list(workspaceId: string, take: number, afterKey?: string): Promise<AudienceRow[]> {
    return this.prisma.audience.findMany({
      where: { workspaceId, ...(afterKey !== undefined && { key: { gt: afterKey } }) },
      orderBy: { key: 'asc' },
      take,
      select: audienceFields,
    });
  }

  async find(workspaceId: string, id: string, tx: Tx = this.prisma): Promise<AudienceRow | null> {
    return tx.audience.findFirst({ where: { id, workspaceId }, select: audienceFields });
  }

  async insert(workspaceId: string, audience: NewAudience, tx: Tx): Promise<AudienceRow> {
    const { at, ...fields } = audience;
    try {
      return await tx.audience.create({
        data: { workspaceId, ...fields, createdAt: at, updatedAt: at },
        select: audienceFields,
      });
    } catch (error) {
      if (postgresErrorCode(error) === UNIQUE_VIOLATION || isPrismaUniqueViolation(error)) {
        throw new DuplicateAudienceKeyError(audience.key);
      }
      throw error;
    }
  }

  async update(workspaceId: string, id: string, changes: AudienceChanges, tx: Tx): Promise<AudienceRow> {
    const { bumpVersion, at, ...fields } = changes;
    const result = await tx.audience.updateManyAndReturn({
      where: { id, workspaceId },
      data: {
        ...fields,
        updatedAt: at,
        ...(bumpVersion && { version: { increment: 1 }, status: 'pending', statusReason: null }),
      },
      select: audienceFields,
    });
    const [row] = result;
    if (!row) throw new Error(`audience ${id} vanished under the workspace lock`);
    return row;
  }

  /** Members, transitions and destination links go with it (ON DELETE CASCADE). */
  async delete(workspaceId: string, id: string, tx: Tx): Promise<void> {
    await tx.audience.deleteMany({ where: { id, workspaceId } });
  }

  /** Journeys that people enter from the audience (see journeysUsingSql). */
  async journeysUsing(workspaceId: string, audienceKey: string, tx: Tx): Promise<string[]> {
    const rows = await tx.$queryRaw<{ key: string }[]>(journeysUsingSql(workspaceId, { audienceKey }));
    return rows.map((row) => row.key);
  }

  /** How many profiles (or accounts) match, and a sample of them (interactive budget). */
  async preview(
    workspaceId: string,
    predicate: Prisma.Sql,
    limit: number,
    level: SubjectLevel = 'profile',
  ): Promise<{ count: number; sample: (SampleRow | SampleAccountRow)[] }> {
    const query =
      level === 'account'
        ? accountPreviewQuery(workspaceId, predicate, limit)
        : audiencePreviewQuery(workspaceId, predicate, limit);
    const [row] = await this.interactive.query<{ count: number; sample: (SampleRow | SampleAccountRow)[] }>(
      workspaceId,
      query,
      DEFINITION_SUBJECT,
    );
    return { count: row?.count ?? 0, sample: row?.sample ?? [] };
  }

  /** EXPLAIN (FORMAT JSON) of the count query, without running it (interactive budget). */
  async explainCount(workspaceId: string, predicate: Prisma.Sql, level: SubjectLevel = 'profile'): Promise<unknown> {
    const [row] = await this.interactive.query<{ 'QUERY PLAN': unknown }>(
      workspaceId,
      Prisma.sql`EXPLAIN (FORMAT JSON) ${audienceCountQuery(workspaceId, predicate, level)}`,
      DEFINITION_SUBJECT,
    );
    return row?.['QUERY PLAN'];
  }
}

function isPrismaUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
