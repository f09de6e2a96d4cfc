import { Injectable } from '@nestjs/common';

import { DatabaseConfig } from '../config/app-config';
import { advisoryLockSql, advisoryLocksSql } from '../database/audience-lock';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import { inBatchLocks, inComputeLock } from '../membership/compute-lock';
import { PrismaService } from '../prisma/prisma.service';
import type { ScoreLevel } from './score-definition';
import { CompiledScore, scoreValuesStatement, snapshotStatement } from './score-sql';

export interface ScoreRecord {
  id: string;
  workspaceId: string;
  key: string;
  level: ScoreLevel;
  components: unknown;
  bands: unknown;
  snapshotPeriod: string;
  refreshIntervalSeconds: number;
  version: number;
}

/** Score locks have their own advisory lock class, apart from audiences' ("memb") and traits' ("trai"). */
export const SCORE_LOCK_CLASS = 0x73636f72; // "scor"

const scoreColumns = Prisma.sql`
  id, workspace_id AS "workspaceId", key, level::text AS level, components, bands,
  snapshot_period AS "snapshotPeriod", refresh_interval_seconds AS "refreshIntervalSeconds", version`;

/**
 * Score values and snapshots: the worker side of scores. Every write happens under the score's
 * advisory lock, in one transaction.
 */
@Injectable()
export class ScoreValuesRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly config: DatabaseConfig,
  ) {}

  /** A full computation: the score's lock, each statement limited to COMPUTE_STATEMENT_TIMEOUT_MS. */
  async withComputeLock<T>(scoreId: string, work: (tx: Tx) => Promise<T>): Promise<T> {
    return inComputeLock(
      this.prisma,
      advisoryLockSql(SCORE_LOCK_CLASS, scoreId),
      this.config.COMPUTE_STATEMENT_TIMEOUT_MS,
      work,
    );
  }

  /** A real-time batch: every score's lock in one statement, in id order (no deadlock between batches). */
  async withScoreLocks<T>(scoreIds: readonly string[], work: (tx: Tx) => Promise<T>): Promise<T> {
    return inBatchLocks(this.prisma, advisoryLocksSql(SCORE_LOCK_CLASS, scoreIds), work);
  }

  async findScore(workspaceId: string, scoreId: string, tx: Tx = this.prisma): Promise<ScoreRecord | null> {
    const rows = await tx.$queryRaw<ScoreRecord[]>`
      SELECT ${scoreColumns} FROM scores WHERE workspace_id = ${workspaceId}::uuid AND id = ${scoreId}::uuid`;
    return rows[0] ?? null;
  }

  /** The workspace's scores, by key. */
  async listScores(workspaceId: string, tx: Tx = this.prisma): Promise<ScoreRecord[]> {
    return tx.$queryRaw<ScoreRecord[]>`
      SELECT ${scoreColumns} FROM scores WHERE workspace_id = ${workspaceId}::uuid ORDER BY key`;
  }

  /** Every score of every workspace: schedule reconciliation at worker start is installation-wide. */
  async listAllScores(): Promise<ScoreRecord[]> {
    return this.prisma.$queryRaw<ScoreRecord[]>`SELECT ${scoreColumns} FROM scores ORDER BY id`;
  }

  /** Returns false when the score no longer exists. */
  async markComputing(workspaceId: string, scoreId: string): Promise<boolean> {
    const updated = await this.prisma.$executeRaw`
      UPDATE scores SET status = 'computing', status_reason = NULL
      WHERE workspace_id = ${workspaceId}::uuid AND id = ${scoreId}::uuid`;
    return updated > 0;
  }

  async markFailed(workspaceId: string, scoreId: string, reason: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE scores SET status = 'failed', status_reason = ${reason.slice(0, 2_000)}
      WHERE workspace_id = ${workspaceId}::uuid AND id = ${scoreId}::uuid`;
  }

  /** After a full computation: ready, counted, stamped. */
  async finishComputation(tx: Tx, scoreId: string, now: Date): Promise<number> {
    const rows = await tx.$queryRaw<{ valueCount: number }[]>`
      UPDATE scores
      SET status = 'ready', status_reason = NULL, last_computed_at = ${now.toISOString()}::timestamptz,
          value_count = (SELECT count(*) FROM score_values WHERE score_id = ${scoreId}::uuid)
      WHERE id = ${scoreId}::uuid
      RETURNING value_count AS "valueCount"`;
    return rows[0]?.valueCount ?? 0;
  }

  /** Brings the values in line with the definition (all subjects, or `ids`); returns how many changed. */
  async applyValues(
    tx: Tx,
    scoreId: string,
    compiled: CompiledScore,
    now: Date,
    ids?: readonly string[],
  ): Promise<number> {
    const rows = await tx.$queryRaw<{ changed: number }[]>(scoreValuesStatement(scoreId, compiled, now, ids));
    return rows[0]?.changed ?? 0;
  }

  /** Records the period's snapshot unless it was recorded already; returns the rows recorded. */
  async snapshot(tx: Tx, scoreId: string, workspaceId: string, periodStart: Date, now: Date): Promise<number> {
    const rows = await tx.$queryRaw<{ recorded: number }[]>(snapshotStatement(scoreId, workspaceId, periodStart, now));
    return rows[0]?.recorded ?? 0;
  }

  /** The accounts (group row ids) some of these profiles are members of. */
  async accountsOf(workspaceId: string, profileIds: readonly string[], tx: Tx = this.prisma): Promise<string[]> {
    const rows = await tx.$queryRaw<{ id: string }[]>`
      SELECT DISTINCT gm.group_id::text AS id FROM group_memberships gm JOIN groups g ON g.id = gm.group_id
      WHERE g.workspace_id = ${workspaceId}::uuid AND gm.profile_id = ANY(${[...profileIds]}::uuid[])`;
    return rows.map((row) => row.id);
  }

  /** The audiences of the workspace, for the ones that read a score to be recomputed after it. */
  async audienceDefinitions(workspaceId: string) {
    return this.prisma.$queryRaw<
      { id: string; key: string; version: number; level: 'profile' | 'account'; definitionAst: unknown }[]
    >`
      SELECT id, key, version, level::text AS level, definition_ast AS "definitionAst" FROM audiences WHERE workspace_id = ${workspaceId}::uuid`;
  }
}
