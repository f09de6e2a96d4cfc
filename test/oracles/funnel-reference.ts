/**
 * The meaning of a funnel report in plain TypeScript over in-memory data: the specification the
 * SQL (funnel-sql.ts) is held to by test/funnels/funnel-differential.int-spec.ts. It favours being
 * obviously right over being fast. the README (Funnels) states the same rules for people:
 *
 * - Scope: track events, stamped at or before `now`, of live profiles (merged-away profiles own
 *   no events; their events were moved to the survivor).
 * - An event matches a step when its name is the step's event and every filter holds (the audience
 *   language's value semantics: valueTestHolds).
 * - Entry: a person's first step-1 event with from <= t < to; equal timestamps are ordered by the
 *   order events were stored (id). A person counts once, with that entry.
 * - Step k (k >= 2): the earliest step-k event strictly later than the step k-1 event and at most
 *   `window` after the entry (<=). Events at the same instant are not in order.
 * - Strict mode: additionally, no event matching any funnel step lies strictly between the step
 *   k-1 event and the step k event (a repeated step in between breaks the chain).
 * - Breakdown: the value at the path in the entry event's properties or context, or the profile's
 *   current trait; strings as they are, other JSON as text, null or missing is "(none)". The top N
 *   values by step-1 count (ties by code point order) get a row each, the rest sum to "other".
 * - Times between steps: median and 90th percentile with linear interpolation (percentile_cont).
 */
import { compareCodePoints, jsonAtPath } from '../../src/audiences/language/audience-values';
import { FunnelGroupRow, FunnelPeriod, FunnelQuery, FunnelStepSpec, GroupKind } from '../../src/funnels/funnel-spec';
import { valueTestHolds } from './reference-evaluator';

export interface ReferenceEvent {
  /** Storage order; breaks ties between equal timestamps. */
  id: number;
  profileId: string;
  type: string;
  name: string | null;
  properties: Record<string, unknown>;
  context: Record<string, unknown>;
  timestamp: Date;
}

export interface ReferenceProfile {
  id: string;
  traits: Record<string, unknown>;
  /** Set for merged-away profiles, which are never counted. */
  mergedIntoId?: string | null;
}

export interface ReferenceData {
  profiles: readonly ReferenceProfile[];
  events: readonly ReferenceEvent[];
}

/** How far one person got: the instant of each step reached (index 0 = step 1) and their label. */
export interface Progress {
  profileId: string;
  times: number[];
  label: string | null;
}

function matches(event: ReferenceEvent, step: FunnelStepSpec, now: Date): boolean {
  return (
    event.type === 'track' &&
    event.name === step.event &&
    step.where.every((filter) => valueTestHolds(jsonAtPath(event.properties, filter.path), filter, now))
  );
}

/** What Postgres prints for a jsonb value: keys ordered by length then bytes, `", "` and `": "`. */
export function jsonbText(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(jsonbText).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort((a, b) => {
      const bytes = Buffer.byteLength(a) - Buffer.byteLength(b);
      return bytes !== 0 ? bytes : Buffer.compare(Buffer.from(a), Buffer.from(b));
    });
    const record = value as Record<string, unknown>;
    return `{${keys.map((k) => `${JSON.stringify(k)}: ${jsonbText(record[k])}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}

/** A breakdown label: strings as they are, other JSON as text, null and missing as null. */
export function breakdownLabel(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : jsonbText(value);
}

/** Each live person who entered in the period, with the steps they reached. */
export function funnelProgress(query: FunnelQuery, period: FunnelPeriod, data: ReferenceData): Progress[] {
  const now = query.now.getTime();
  const windowMs = query.windowSeconds * 1000;
  const live = new Map(data.profiles.filter((p) => !p.mergedIntoId).map((p) => [p.id, p]));
  const byProfile = new Map<string, ReferenceEvent[]>();
  for (const event of data.events) {
    if (event.timestamp.getTime() > now || !live.has(event.profileId)) continue;
    const list = byProfile.get(event.profileId) ?? [];
    list.push(event);
    byProfile.set(event.profileId, list);
  }
  const [first, ...rest] = query.steps;
  if (!first) return [];
  const result: Progress[] = [];
  for (const [profileId, events] of byProfile) {
    const entry = events
      .filter((e) => {
        const at = e.timestamp.getTime();
        return at >= period.from.getTime() && at < period.to.getTime() && matches(e, first, query.now);
      })
      .sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime() || a.id - b.id)[0];
    if (!entry) continue;
    const t1 = entry.timestamp.getTime();
    const times = [t1];
    let previous = t1;
    for (const step of rest) {
      const inWindow = (e: ReferenceEvent) =>
        e.timestamp.getTime() > previous && e.timestamp.getTime() <= t1 + windowMs;
      const candidates = events
        .filter((e) => inWindow(e) && matches(e, step, query.now))
        .map((e) => e.timestamp.getTime());
      if (candidates.length === 0) break;
      const at = Math.min(...candidates);
      if (query.mode === 'strict') {
        const between = events.some(
          (e) =>
            e.timestamp.getTime() > previous &&
            e.timestamp.getTime() < at &&
            query.steps.some((s) => matches(e, s, query.now)),
        );
        if (between) break;
      }
      times.push(at);
      previous = at;
    }
    result.push({ profileId, times, label: labelOf(query, entry, live.get(profileId)) });
  }
  return result;
}

function labelOf(query: FunnelQuery, entry: ReferenceEvent, profile: ReferenceProfile | undefined): string | null {
  const breakdown = query.breakdown;
  if (!breakdown) return null;
  switch (breakdown.type) {
    case 'event':
      return breakdownLabel(jsonAtPath(entry.properties, breakdown.path));
    case 'context':
      return breakdownLabel(jsonAtPath(entry.context, breakdown.path));
    case 'trait':
      return breakdownLabel(jsonAtPath(profile?.traits ?? {}, breakdown.path));
  }
}

/** Postgres' percentile_cont: linear interpolation between the closest ranks. */
export function percentileCont(values: readonly number[], fraction: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const position = fraction * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower] as number;
  if (lower === upper) return low;
  const high = sorted[upper] as number;
  return low + (high - low) * (position - lower);
}

function groupRow(kind: GroupKind, value: string | null, people: readonly Progress[], steps: number): FunnelGroupRow {
  const counts = Array.from({ length: steps }, (_, k) => people.filter((p) => p.times.length > k).length);
  const gaps = (k: number) =>
    people.filter((p) => p.times.length > k).map((p) => ((p.times[k] as number) - (p.times[k - 1] as number)) / 1000);
  const percentiles = (fraction: number) =>
    Array.from({ length: steps }, (_, k) => (k === 0 ? null : percentileCont(gaps(k), fraction)));
  return { kind, value, counts, medians: percentiles(0.5), p90s: percentiles(0.9) };
}

/** The same rows the SQL returns: everyone, then (with a breakdown) one per non-empty bucket. */
export function referenceFunnel(query: FunnelQuery, period: FunnelPeriod, data: ReferenceData): FunnelGroupRow[] {
  const people = funnelProgress(query, period, data);
  const steps = query.steps.length;
  const rows = [groupRow('total', null, people, steps)];
  const breakdown = query.breakdown;
  if (!breakdown) return rows;
  const perLabel = new Map<string, number>();
  for (const person of people) {
    if (person.label !== null) perLabel.set(person.label, (perLabel.get(person.label) ?? 0) + 1);
  }
  const top = [...perLabel.entries()]
    .sort(([a, x], [b, y]) => y - x || compareCodePoints(a, b))
    .slice(0, breakdown.limit)
    .map(([label]) => label);
  for (const label of top) {
    rows.push(
      groupRow(
        'value',
        label,
        people.filter((p) => p.label === label),
        steps,
      ),
    );
  }
  const others = people.filter((p) => p.label !== null && !top.includes(p.label));
  if (others.length > 0) rows.push(groupRow('other', null, others, steps));
  const none = people.filter((p) => p.label === null);
  if (none.length > 0) rows.push(groupRow('none', null, none, steps));
  return rows;
}
