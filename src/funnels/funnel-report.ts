/**
 * Turns the per-period rows (counts and percentiles per step) into the report people read:
 * conversions, drop-offs, the change versus the previous period, breakdown rows and the steps
 * flagged red. Pure, so the numbers can be checked without a database.
 */
import { compareCodePoints } from '../audiences/language/audience-language';
import { FunnelGroupRow, FunnelPeriod, FunnelQuery, FunnelStepSpec } from './funnel-spec';
import { FunnelBreakdownRowView, FunnelDropOffView, FunnelReportView, FunnelStepView } from './funnels.dto';

const ratio = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);
/** Seconds to the millisecond: timestamps have no finer precision, interpolation adds float noise. */
const seconds = (value: number | null | undefined): number | null =>
  value === null || value === undefined ? null : Math.round(value * 1000) / 1000;

export function stepViews(steps: readonly FunnelStepSpec[], row: FunnelGroupRow): FunnelStepView[] {
  const first = row.counts[0] ?? 0;
  return steps.map((step, k) => {
    const count = row.counts[k] ?? 0;
    const previous = k === 0 ? count : (row.counts[k - 1] ?? 0);
    const dropOff = previous - count;
    const view: FunnelStepView = {
      step: k + 1,
      event: step.event,
      count,
      conversionFromPrevious: ratio(count, previous),
      conversionFromFirst: ratio(count, first),
      dropOff,
      dropOffRate: ratio(dropOff, previous),
      medianSecondsFromPrevious: seconds(row.medians[k]),
      p90SecondsFromPrevious: seconds(row.p90s[k]),
      flags: [],
    };
    if (step.whereText !== undefined) view.where = step.whereText;
    return view;
  });
}

function difference(current: number | null, previous: number | null): number | null {
  return current === null || previous === null ? null : current - previous;
}

function addChanges(current: FunnelStepView[], previous: readonly FunnelStepView[]): void {
  current.forEach((step, k) => {
    const before = previous[k];
    if (!before) return;
    step.change = {
      count: step.count - before.count,
      countRatio: ratio(step.count - before.count, before.count),
      conversionFromPrevious: difference(step.conversionFromPrevious, before.conversionFromPrevious),
      conversionFromFirst: difference(step.conversionFromFirst, before.conversionFromFirst),
    };
  });
}

/**
 * The steps to colour red: the lowest step conversion (all tied ones; none when every step
 * converts fully), and the largest fall in step conversion versus the previous period (only a fall).
 */
export function biggestDropOffs(steps: FunnelStepView[], previous?: readonly FunnelStepView[]): FunnelDropOffView[] {
  const later = steps.slice(1);
  const flagged: FunnelDropOffView[] = [];
  const conversions = later.map((s) => s.conversionFromPrevious).filter((c): c is number => c !== null);
  const lowest = Math.min(...conversions);
  if (conversions.length > 0 && lowest < 1) {
    for (const step of later.filter((s) => s.conversionFromPrevious === lowest)) {
      step.flags.push('lowest_conversion');
      flagged.push({
        step: step.step,
        event: step.event,
        reason: 'lowest_conversion',
        conversionFromPrevious: step.conversionFromPrevious,
        dropOff: step.dropOff,
      });
    }
  }
  const falls = later.map((s) => s.change?.conversionFromPrevious).filter((c): c is number => typeof c === 'number');
  const largestFall = Math.min(...falls);
  if (previous && falls.length > 0 && largestFall < 0) {
    for (const step of later.filter((s) => s.change?.conversionFromPrevious === largestFall)) {
      step.flags.push('fell_vs_previous_period');
      flagged.push({
        step: step.step,
        event: step.event,
        reason: 'fell_vs_previous_period',
        conversionFromPrevious: step.conversionFromPrevious,
        previousConversionFromPrevious: previous[step.step - 1]?.conversionFromPrevious ?? null,
        dropOff: step.dropOff,
      });
    }
  }
  return flagged;
}

function breakdownRows(steps: readonly FunnelStepSpec[], rows: readonly FunnelGroupRow[]): FunnelBreakdownRowView[] {
  const order = { value: 0, other: 1, none: 2 } as const;
  return rows
    .filter((row): row is FunnelGroupRow & { kind: 'value' | 'other' | 'none' } => row.kind !== 'total')
    .sort(
      (a, b) =>
        order[a.kind] - order[b.kind] ||
        (b.counts[0] ?? 0) - (a.counts[0] ?? 0) ||
        compareCodePoints(a.value ?? '', b.value ?? ''),
    )
    .map((row) => ({
      value: row.kind === 'value' ? (row.value ?? '') : row.kind === 'other' ? 'other' : '(none)',
      kind: row.kind,
      steps: stepViews(steps, row),
    }));
}

function totalOf(rows: readonly FunnelGroupRow[], steps: number): FunnelGroupRow {
  const empty = Array.from({ length: steps }, () => null);
  return (
    rows.find((r) => r.kind === 'total') ?? {
      kind: 'total',
      value: null,
      counts: Array.from({ length: steps }, () => 0),
      medians: empty,
      p90s: empty,
    }
  );
}

export interface ReportInput {
  query: FunnelQuery;
  windowDays: number;
  current: readonly FunnelGroupRow[];
  previous?: { period: FunnelPeriod; rows: readonly FunnelGroupRow[] };
}

export function buildFunnelReport({ query, windowDays, current, previous }: ReportInput): FunnelReportView {
  const steps = stepViews(query.steps, totalOf(current, query.steps.length));
  const report: FunnelReportView = {
    from: query.from.toISOString(),
    to: query.to.toISOString(),
    windowDays,
    mode: query.mode,
    computedAt: query.now.toISOString(),
    complete: query.to.getTime() + query.windowSeconds * 1000 <= query.now.getTime(),
    steps,
    breakdown: breakdownRows(query.steps, current),
    biggestDropOffs: [],
  };
  let previousSteps: FunnelStepView[] | undefined;
  if (previous) {
    previousSteps = stepViews(query.steps, totalOf(previous.rows, query.steps.length));
    addChanges(steps, previousSteps);
    report.previousPeriod = {
      from: previous.period.from.toISOString(),
      to: previous.period.to.toISOString(),
      steps: previousSteps,
    };
  }
  if (query.breakdown) {
    report.breakdownBy = {
      type: query.breakdown.type,
      property: query.breakdown.property,
      limit: query.breakdown.limit,
    };
  }
  report.biggestDropOffs = biggestDropOffs(steps, previousSteps);
  return report;
}
