/**
 * What a funnel report is computed from, once the request has been read and checked: steps with
 * their filters as audience-language ASTs, the period, the conversion window, the order mode and
 * the breakdown. Both the SQL (funnel-sql.ts) and the test oracle (test/oracles/funnel-reference.ts) take this.
 */
import type { PropertyFilter } from '../audiences/language/audience-language';

export const FUNNEL_MODES = ['sequential', 'strict'] as const;
export type FunnelMode = (typeof FUNNEL_MODES)[number];

export const BREAKDOWN_TYPES = ['event', 'trait', 'context'] as const;
export type BreakdownType = (typeof BREAKDOWN_TYPES)[number];

export const FUNNEL_LIMITS = {
  minSteps: 2,
  /** As many as an audience-language sequence may have, so every drop-off can become an audience. */
  maxSteps: 10,
  maxWindowDays: 365,
  defaultWindowDays: 14,
  /** A year and a day, so "last 12 months" fits whatever the months' lengths. */
  maxRangeDays: 367,
  defaultBreakdownLimit: 10,
  maxBreakdownLimit: 50,
} as const;

export interface FunnelStepSpec {
  event: string;
  /** The filter text as the user wrote it (absent without filters). */
  whereText?: string;
  /** Every filter must hold; empty without filters. */
  where: PropertyFilter[];
}

export interface BreakdownSpec {
  type: BreakdownType;
  /** As the user wrote it, e.g. `utm_source` or `address.city`. */
  property: string;
  /** JSON path into the entry event's properties or context, or into the profile's traits. */
  path: string[];
  /** How many values get a row of their own (by step-1 count); the rest are summed as "other". */
  limit: number;
}

export interface FunnelPeriod {
  /** People enter the funnel by doing step 1 at or after `from` … */
  from: Date;
  /** … and before `to`. */
  to: Date;
}

export interface FunnelQuery extends FunnelPeriod {
  workspaceId: string;
  steps: FunnelStepSpec[];
  windowSeconds: number;
  mode: FunnelMode;
  breakdown?: BreakdownSpec;
  /** Events stamped after `now` have not happened yet; `within`/`before` filters are relative to it. */
  now: Date;
}

export type GroupKind = 'total' | 'value' | 'other' | 'none';

/**
 * One row of the funnel's table, for everyone (`total`) or for one breakdown bucket: per step the
 * people who reached it and the median / 90th percentile of the seconds from the previous step
 * (linear interpolation, as Postgres' percentile_cont; null for step 1 and for nobody).
 */
export interface FunnelGroupRow {
  kind: GroupKind;
  /** The breakdown value for `value` rows; null otherwise. */
  value: string | null;
  counts: number[];
  medians: (number | null)[];
  p90s: (number | null)[];
}

/** The period of equal length that ends where this one starts. */
export function previousPeriod(period: FunnelPeriod): FunnelPeriod {
  const length = period.to.getTime() - period.from.getTime();
  return { from: new Date(period.from.getTime() - length), to: new Date(period.from) };
}
