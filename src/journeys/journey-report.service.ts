import { Injectable } from '@nestjs/common';

import { decodeCreatedCursor, DEFAULT_PAGE_SIZE, encodeCreatedCursor, pageFrom } from '../common/pagination';
import { HOLDOUT } from './journey-guardrails';
import { JourneyReportRepository, RunRecord } from './journey-report.repository';
import { round, wilsonInterval } from './journey-statistics';
import { JourneyReportView, RunListView, RunsQueryDto, VariantReportView } from './journeys.dto';
import { JourneysService } from './journeys.service';

/** `GET /api/journeys/:id/report` and `/runs`: how the journey does, and one person's path. */
@Injectable()
export class JourneyReportService {
  constructor(
    private readonly journeys: JourneysService,
    private readonly repository: JourneyReportRepository,
  ) {}

  async report(workspaceId: string, id: string): Promise<JourneyReportView> {
    const journey = await this.journeys.found(workspaceId, id);
    const [steps, variants] = await Promise.all([this.repository.stepCounts(id), this.repository.variantCounts(id)]);
    const byStep = new Map(steps.map((s) => [s.stepId, s]));
    const typeOf = new Map(journey.definition.steps.map((s) => [s.id, s.type as string]));
    // Steps of the current version in their order, then steps only older versions had.
    const order = [
      ...journey.definition.steps.map((s) => s.id),
      ...steps.map((s) => s.stepId).filter((s) => !typeOf.has(s)),
    ];
    const zero = { entered: 0, waiting: 0, passed: 0, sent: 0, failed: 0, suppressed: 0, capped: 0 };

    const holdout = variants.find((v) => v.variant === HOLDOUT);
    const holdoutRate = holdout && holdout.runs > 0 ? holdout.conversions / holdout.runs : null;
    const variantViews: VariantReportView[] = variants.map((v) => {
      const rate = v.runs > 0 ? v.conversions / v.runs : 0;
      return {
        variant: v.variant ?? (variants.length === 1 ? 'all' : 'none'),
        runs: v.runs,
        conversions: v.conversions,
        conversionRate: round(rate),
        confidenceInterval: wilsonInterval(v.conversions, v.runs),
        upliftOverHoldout: holdoutRate === null || v.variant === HOLDOUT ? null : round(rate - holdoutRate),
        medianSecondsToGoal: v.medianSecondsToGoal === null ? null : round(v.medianSecondsToGoal, 1),
      };
    });
    return {
      steps: order.map((stepId) => ({ stepId, type: typeOf.get(stepId) ?? 'removed', ...zero, ...byStep.get(stepId) })),
      variants: variantViews,
      runs: variants.reduce((n, v) => n + v.runs, 0),
      active: steps.reduce((n, s) => n + s.waiting, 0),
      converted: variants.reduce((n, v) => n + v.conversions, 0),
    };
  }

  async runs(workspaceId: string, id: string, query: RunsQueryDto): Promise<RunListView> {
    await this.journeys.found(workspaceId, id);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = query.cursor !== undefined ? decodeCreatedCursor(query.cursor) : undefined;
    const rows = await this.repository.pageRuns(id, limit, { profileId: query.profileId, after });
    const kept = rows.slice(0, limit);
    const history = await this.repository.historyOf(kept.map((r) => r.id));
    const page = pageFrom(
      rows,
      limit,
      (row: RunRecord) => encodeCreatedCursor({ createdAt: row.startedAt, id: row.id }),
      (row: RunRecord) => ({
        ...row,
        history: history
          .filter((h) => h.runId === row.id)
          .map((h) => ({
            seq: h.seq,
            stepId: h.stepId,
            kind: h.kind,
            outcome: h.outcome,
            enteredAt: h.enteredAt,
            leftAt: h.leftAt,
            detail: h.detail,
          })),
      }),
    );
    return page;
  }
}
