import { Injectable } from '@nestjs/common';

import { advisoryLockSql, workspaceDefinitionsLockSql } from '../database/audience-lock';
import { InteractiveDatabase } from '../database/interactive-database';
import { postgresErrorCode } from '../database/postgres-errors';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { SCORE_LOCK_CLASS } from './score-values.repository';
import { DuplicateScoreKeyError } from './scores.errors';

export type ScoreStatus = 'pending' | 'computing' | 'ready' | 'failed';

export interface ScoreRow {
  id: string;
  workspaceId: string;
  key: string;
  name: string;
  level: 'profile' | 'account';
  components: Prisma.JsonValue;
  bands: Prisma.JsonValue;
  snapshotPeriod: string;
  refreshIntervalSeconds: number;
  version: number;
  status: ScoreStatus;
  statusReason: string | null;
  valueCount: number;
  lastComputedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewScore {
  key: string;
  name: string;
  level: 'profile' | 'account';
  components: Prisma.InputJsonValue;
  bands: Prisma.InputJsonValue;
  snapshotPeriod: string;
  refreshIntervalSeconds: number;
  at: Date;
}

export interface ScoreChanges {
  name?: string;
  components?: Prisma.InputJsonValue;
  bands?: Prisma.InputJsonValue;
  snapshotPeriod?: string;
  refreshIntervalSeconds?: number;
  /** New components or bands: bumps `version` and puts the score back to pending. */
  bumpVersion: boolean;
  at: Date;
}

export interface SnapshotPoint {
  periodStart: Date;
  value: number;
  band: string;
}

export interface DistributionRow {
  periodStart: Date;
  band: string | null;
  count: number;
}

const scoreFields = {
  id: true,
  workspaceId: true,
  key: true,
  name: true,
  level: true,
  components: true,
  bands: true,
  snapshotPeriod: true,
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
const LISTING_SUBJECT = { field: 'limit', narrow: 'a smaller page (limit)' };
const RANGE_SUBJECT = { field: 'from', narrow: 'a shorter range (from, to)' };
const EXPLAIN_SUBJECT = { field: 'components', narrow: 'component conditions that match fewer events' };

/** Score definitions and what the API reads of their values and snapshots. */
@Injectable()
export class ScoresRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly interactive: InteractiveDatabase,
  ) {}

  /**
   * Runs `work` holding the workspace's definitions lock (the audiences' and traits' own), so that
   * a score key and a trait key, or a deleted score and an audience reading it, cannot pass their
   * checks at the same time.
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

  async insert(workspaceId: string, score: NewScore, tx: Tx): Promise<ScoreRow> {
    const { at, ...fields } = score;
    try {
      return await tx.score.create({
        data: { workspaceId, ...fields, createdAt: at, updatedAt: at },
        select: scoreFields,
      });
    } catch (error) {
      if (postgresErrorCode(error) === UNIQUE_VIOLATION || isPrismaUniqueViolation(error)) {
        throw new DuplicateScoreKeyError(score.key, 'score');
      }
      throw error;
    }
  }

  async find(workspaceId: string, id: string, tx: Tx = this.prisma): Promise<ScoreRow | null> {
    return tx.score.findFirst({ where: { workspaceId, id }, select: scoreFields });
  }

  /** By key, after `afterKey`. */
  async list(workspaceId: string, limit: number, afterKey?: string): Promise<ScoreRow[]> {
    return await this.prisma.score.findMany({
      where: { workspaceId, ...(afterKey === undefined ? {} : { key: { gt: afterKey } }) },
      orderBy: { key: 'asc' },
      take: limit,
      select: scoreFields,
    });
  }

  async update(workspaceId: string, id: string, changes: ScoreChanges, tx: Tx): Promise<ScoreRow> {
    const { bumpVersion, at, ...fields } = changes;
    return tx.score.update({
      where: { id, workspaceId },
      data: {
        ...fields,
        updatedAt: at,
        ...(bumpVersion ? { version: { increment: 1 }, status: 'pending', statusReason: null } : {}),
      },
      select: scoreFields,
    });
  }

  /** The score, its values and snapshots, under the score's lock so a computation in flight finishes first. */
  async delete(workspaceId: string, id: string, tx: Tx): Promise<void> {
    await tx.$executeRaw(advisoryLockSql(SCORE_LOCK_CLASS, id));
    await tx.score.deleteMany({ where: { workspaceId, id } });
    await tx.$executeRaw`DELETE FROM score_values WHERE score_id = ${id}::uuid`;
    await tx.$executeRaw`DELETE FROM score_snapshots WHERE score_id = ${id}::uuid`;
    await tx.$executeRaw`DELETE FROM score_snapshot_periods WHERE score_id = ${id}::uuid`;
  }

  /**
   * Which of these keys a computed trait or another score already answers to (a score answers to
   * its key and `<key>_band`).
   */
  async takenKeys(workspaceId: string, keys: readonly string[], exceptScoreId: string | null, tx: Tx) {
    return tx.$queryRaw<{ key: string; owner: 'trait' | 'score' }[]>`
      SELECT k AS key, 'trait' AS owner FROM unnest(${[...keys]}::text[]) AS k
      WHERE EXISTS (SELECT 1 FROM computed_traits t WHERE t.workspace_id = ${workspaceId}::uuid AND t.key = k)
      UNION ALL
      SELECT k, 'score' FROM unnest(${[...keys]}::text[]) AS k
      WHERE EXISTS (SELECT 1 FROM scores s WHERE s.workspace_id = ${workspaceId}::uuid
        AND s.id IS DISTINCT FROM ${exceptScoreId}::uuid AND (s.key = k OR s.key || '_band' = k))`;
  }

  /** The keys among `keys` that name no computed trait of the workspace. */
  async unknownTraitKeys(workspaceId: string, keys: readonly string[], tx: Tx = this.prisma): Promise<string[]> {
    if (keys.length === 0) return [];
    const rows = await tx.$queryRaw<{ key: string }[]>`
      SELECT k AS key FROM unnest(${[...keys]}::text[]) AS k
      WHERE NOT EXISTS (SELECT 1 FROM computed_traits t WHERE t.workspace_id = ${workspaceId}::uuid AND t.key = k AND t.level = 'profile')`;
    return rows.map((row) => row.key);
  }

  /** Audiences of the workspace by key and level. */
  async audienceLevels(workspaceId: string, tx: Tx = this.prisma): Promise<Map<string, string>> {
    const rows = await tx.audience.findMany({ where: { workspaceId }, select: { key: true, level: true } });
    return new Map(rows.map((row) => [row.key, row.level]));
  }

  /** Every audience definition of the workspace, to find those that read a score. */
  async audienceDefinitions(workspaceId: string, tx: Tx = this.prisma) {
    return tx.audience.findMany({
      where: { workspaceId },
      select: { id: true, version: true, key: true, level: true, definitionAst: true },
    });
  }

  /** The id of a live profile of the workspace (a merged-away one resolves to nothing). */
  async liveProfile(workspaceId: string, profileId: string): Promise<string | null> {
    const row = await this.prisma.profile.findFirst({
      where: { workspaceId, id: profileId, mergedIntoId: null },
      select: { id: true },
    });
    return row?.id ?? null;
  }

  /** The row id of an account by its groupId. */
  async accountId(workspaceId: string, groupId: string): Promise<string | null> {
    const row = await this.prisma.group.findFirst({ where: { workspaceId, groupId }, select: { id: true } });
    return row?.id ?? null;
  }

  async currentValue(scoreId: string, subjectId: string): Promise<{ value: number; band: string } | null> {
    return this.prisma.scoreValue.findUnique({
      where: { scoreId_subjectId: { scoreId, subjectId } },
      select: { value: true, band: true },
    });
  }

  /** Which components hold for one subject now: one row of booleans c0…, or none when it is not live. */
  async explain(workspaceId: string, query: Prisma.Sql): Promise<Record<string, boolean> | null> {
    const [row] = await this.interactive.query<Record<string, boolean>>(workspaceId, query, EXPLAIN_SUBJECT);
    return row ?? null;
  }

  /** One subject's snapshots, oldest first. */
  async history(workspaceId: string, scoreId: string, subjectId: string): Promise<SnapshotPoint[]> {
    return this.interactive.query<SnapshotPoint>(
      workspaceId,
      Prisma.sql`SELECT period_start AS "periodStart", value, band FROM score_snapshots
        WHERE score_id = ${scoreId}::uuid AND subject_id = ${subjectId}::uuid ORDER BY period_start`,
      LISTING_SUBJECT,
    );
  }

  /**
   * Per recorded period starting in [from, to), how many subjects were in each band; a period with
   * nobody has one row with a null band.
   */
  async distribution(workspaceId: string, scoreId: string, from: Date, to: Date): Promise<DistributionRow[]> {
    return this.interactive.query<DistributionRow>(
      workspaceId,
      Prisma.sql`SELECT p.period_start AS "periodStart", s.band, count(s.subject_id)::int AS count
        FROM score_snapshot_periods p
        LEFT JOIN score_snapshots s ON s.score_id = p.score_id AND s.period_start = p.period_start
        WHERE p.score_id = ${scoreId}::uuid
          AND p.period_start >= ${from.toISOString()}::timestamptz AND p.period_start < ${to.toISOString()}::timestamptz
        GROUP BY p.period_start, s.band ORDER BY p.period_start, s.band`,
      RANGE_SUBJECT,
    );
  }
}

function isPrismaUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
