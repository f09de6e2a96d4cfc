import { Injectable } from '@nestjs/common';

import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';

export interface StepCounts {
  stepId: string;
  entered: number;
  waiting: number;
  passed: number;
  sent: number;
  failed: number;
  suppressed: number;
  capped: number;
}

export interface VariantCounts {
  variant: string | null;
  runs: number;
  conversions: number;
  medianSecondsToGoal: number | null;
}

export interface RunRecord {
  id: string;
  profileId: string;
  version: number;
  status: string;
  stepId: string;
  variant: string | null;
  dueAt: Date | null;
  startedAt: Date;
  endedAt: Date | null;
  endReason: string | null;
  entryEvent: unknown;
}

export interface RunStepRecord {
  runId: string;
  seq: number;
  stepId: string;
  kind: string;
  outcome: string;
  enteredAt: Date;
  leftAt: Date;
  detail: unknown;
}

/** The queries of a journey's report and of its runs' paths. */
@Injectable()
export class JourneyReportRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Per step over every version: history rows (steps taken) and runs at the step now. */
  async stepCounts(journeyId: string): Promise<StepCounts[]> {
    return this.prisma.$queryRaw<StepCounts[]>`
      WITH taken AS (
        SELECT h.step_id, count(*) FILTER (WHERE h.outcome NOT LIKE 'held:%')::int AS left_step,
               count(*) FILTER (WHERE h.outcome NOT IN ('converted', 'exited', 'audience exit')
                                  AND h.outcome NOT LIKE 'held:%')::int AS passed,
               count(*) FILTER (WHERE h.outcome IN ('capped', 'held:cap'))::int AS capped
        FROM journey_run_steps h JOIN journey_runs r ON r.id = h.run_id
        WHERE r.journey_id = ${journeyId}::uuid
        GROUP BY h.step_id
      ),
      here AS (
        SELECT step_id, count(*)::int AS waiting FROM journey_runs
        WHERE journey_id = ${journeyId}::uuid AND status = 'active' GROUP BY step_id
      ),
      -- Messages: one per recipient of an account journey's step. The delivery workers hold or skip
      -- an account journey's email by the frequency cap (they say so in last_error): capped.
      sends AS (
        SELECT h.step_id,
               count(*) FILTER (WHERE d.status = 'sent')::int AS sent,
               count(*) FILTER (WHERE d.status IN ('failed', 'dead') AND NOT capped.by_cap)::int AS failed,
               count(*) FILTER (WHERE d.status IN ('suppressed', 'skipped') AND NOT capped.by_cap)::int AS suppressed,
               count(*) FILTER (WHERE capped.by_cap)::int AS capped
        FROM deliveries d
        CROSS JOIN LATERAL (
          SELECT (d.status = 'skipped' AND d.last_error LIKE 'frequency cap:%')
                 OR (d.status = 'failed' AND d.last_error LIKE 'held by the frequency cap:%') AS by_cap
        ) capped
        JOIN journey_runs r ON r.id = d.journey_run_id
        JOIN journey_run_steps h ON h.run_id = d.journey_run_id AND h.seq = d.journey_seq
        WHERE r.journey_id = ${journeyId}::uuid
        GROUP BY h.step_id
      )
      SELECT s.step_id AS "stepId",
             coalesce(t.left_step, 0) + coalesce(w.waiting, 0) AS entered, coalesce(w.waiting, 0) AS waiting,
             coalesce(t.passed, 0) AS passed, coalesce(d.sent, 0) AS sent, coalesce(d.failed, 0) AS failed,
             coalesce(d.suppressed, 0) AS suppressed, coalesce(t.capped, 0) + coalesce(d.capped, 0) AS capped
      FROM (SELECT step_id FROM taken UNION SELECT step_id FROM here) s
      LEFT JOIN taken t ON t.step_id = s.step_id
      LEFT JOIN here w ON w.step_id = s.step_id
      LEFT JOIN sends d ON d.step_id = s.step_id`;
  }

  async variantCounts(journeyId: string): Promise<VariantCounts[]> {
    return this.prisma.$queryRaw<VariantCounts[]>`
      SELECT variant, count(*)::int AS runs, count(*) FILTER (WHERE status = 'converted')::int AS conversions,
             (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ended_at - started_at))
               FILTER (WHERE status = 'converted'))::float8 AS "medianSecondsToGoal"
      FROM journey_runs WHERE journey_id = ${journeyId}::uuid
      GROUP BY variant ORDER BY variant NULLS FIRST`;
  }

  async pageRuns(
    journeyId: string,
    limit: number,
    options: { profileId?: string; after?: { createdAt: Date; id: string } },
  ): Promise<RunRecord[]> {
    const profile = options.profileId ? Prisma.sql`AND profile_id = ${options.profileId}::uuid` : Prisma.empty;
    const after = options.after
      ? Prisma.sql`AND (started_at, id) > (${options.after.createdAt}, ${options.after.id}::uuid)`
      : Prisma.empty;
    return this.prisma.$queryRaw<RunRecord[]>`
      SELECT id::text AS id, profile_id::text AS "profileId", version, status::text AS status, step_id AS "stepId",
             variant, due_at AS "dueAt", started_at AS "startedAt", ended_at AS "endedAt", end_reason AS "endReason",
             entry_event AS "entryEvent"
      FROM journey_runs WHERE journey_id = ${journeyId}::uuid ${profile} ${after}
      ORDER BY started_at, id LIMIT ${limit + 1}::int`;
  }

  async historyOf(runIds: string[]): Promise<RunStepRecord[]> {
    if (runIds.length === 0) return [];
    return this.prisma.$queryRaw<RunStepRecord[]>`
      SELECT run_id::text AS "runId", seq, step_id AS "stepId", kind, outcome, entered_at AS "enteredAt",
             left_at AS "leftAt", detail
      FROM journey_run_steps WHERE run_id = ANY(${runIds}::uuid[]) ORDER BY run_id, seq`;
  }
}
