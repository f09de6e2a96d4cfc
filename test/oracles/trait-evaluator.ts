/**
 * The meaning of a computed trait definition in plain TypeScript over in-memory data: the
 * specification the SQL compiler (src/traits/language/compiler) is tested against in
 * test/traits/trait-differential.int-spec.ts. Favours being obviously right over being fast.
 */
import { PropertyFilter, TimeWindow } from '../../src/audiences/language/audience-ast';
import { compareCodePoints, jsonAtPath, jsonNumber } from '../../src/audiences/language/audience-values';
import { TraitAst } from '../../src/traits/language/trait-ast';
import { EvaluatorProfile, valueTestHolds, windowHolds } from './reference-evaluator';

export interface TraitEvaluatorEvent {
  profileId: string;
  type: string;
  name: string | null;
  properties: Record<string, unknown>;
  timestamp: Date;
  /** Arrival order (the events' id): breaks ties between events at the same instant. */
  seq: number;
}

export interface TraitEvaluatorData {
  /** Live profiles only. */
  profiles: readonly EvaluatorProfile[];
  events: readonly TraitEvaluatorEvent[];
}

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

/** Monday 00:00 UTC of the ISO week holding `at` (1970-01-05 was a Monday). */
function mondayOf(at: number): number {
  const monday = Date.UTC(1970, 0, 5);
  return at - ((((at - monday) % WEEK_MS) + WEEK_MS) % WEEK_MS);
}

/**
 * How Postgres prints a scalar jsonb value (jsonb::text), which orders lists and breaks ties; the
 * differential data uses scalars only, and no -0 (printed `-0` by Postgres, `0` by JavaScript).
 */
export function jsonbText(value: unknown): string {
  return JSON.stringify(value);
}

/** Profile id → value, for the profiles that have one. */
export function evaluateTrait(ast: TraitAst, data: TraitEvaluatorData, now: Date): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const profile of data.profiles) {
    const events = data.events.filter((e) => e.profileId === profile.id && e.timestamp.getTime() <= now.getTime());
    const value = evaluate(ast, profile, events, now);
    if (value !== undefined) values.set(profile.id, value);
  }
  return values;
}

function evaluate(
  ast: TraitAst,
  profile: EvaluatorProfile,
  events: readonly TraitEvaluatorEvent[],
  now: Date,
): unknown {
  const matching = (scope: { event: string; window?: TimeWindow; where?: PropertyFilter[] }) =>
    events.filter(
      (e) =>
        e.type === 'track' &&
        e.name === scope.event &&
        (scope.window === undefined || windowHolds(e.timestamp.getTime(), scope.window, now)) &&
        (scope.where ?? []).every((f) => valueTestHolds(jsonAtPath(e.properties, f.path), f, now)),
    );
  const valuesOf = (scope: { event: string; window?: TimeWindow; where?: PropertyFilter[] }, path: string[]) =>
    matching(scope)
      .map((e) => ({ event: e, value: jsonAtPath(e.properties, path) }))
      .filter((x) => x.value !== undefined && x.value !== null);

  switch (ast.type) {
    case 'count':
      return matching(ast).length;
    case 'aggregate': {
      const numbers = matching(ast)
        .map((e) => jsonNumber(jsonAtPath(e.properties, ast.property)))
        .filter((n): n is number => n !== undefined);
      if (numbers.length === 0) return undefined;
      const sum = numbers.reduce((a, b) => a + b, 0);
      switch (ast.fn) {
        case 'sum':
          return sum;
        case 'avg':
          return sum / numbers.length;
        case 'min':
          return Math.min(...numbers);
        case 'max':
          return Math.max(...numbers);
      }
      return undefined;
    }
    case 'count_distinct':
      return new Set(valuesOf(ast, ast.property).map((x) => jsonbText(x.value))).size;
    case 'distinct': {
      const distinct = new Map(valuesOf(ast, ast.property).map((x) => [jsonbText(x.value), x.value]));
      if (distinct.size === 0) return undefined;
      return [...distinct.entries()].sort(([a], [b]) => compareCodePoints(a, b)).map(([, v]) => v);
    }
    case 'first_value':
    case 'last_value': {
      const ordered = valuesOf(ast, ast.property).sort(
        (a, b) => a.event.timestamp.getTime() - b.event.timestamp.getTime() || a.event.seq - b.event.seq,
      );
      const pick = ast.type === 'first_value' ? ordered[0] : ordered[ordered.length - 1];
      return pick?.value;
    }
    case 'most_frequent': {
      const groups = new Map<string, { value: unknown; n: number; latest: number }>();
      for (const { event, value } of valuesOf(ast, ast.property)) {
        const key = jsonbText(value);
        const group = groups.get(key) ?? { value, n: 0, latest: -Infinity };
        group.n += 1;
        group.latest = Math.max(group.latest, event.timestamp.getTime());
        groups.set(key, group);
      }
      const best = [...groups.entries()].sort(
        ([ka, a], [kb, b]) => b.n - a.n || b.latest - a.latest || compareCodePoints(ka, kb),
      )[0];
      return best?.[1].value;
    }
    case 'days_since_last': {
      const times = matching(ast).map((e) => e.timestamp.getTime());
      if (times.length === 0) return undefined;
      return Math.floor((now.getTime() - Math.max(...times)) / DAY_MS);
    }
    case 'days_since_first_seen':
      return Math.floor((now.getTime() - profile.firstSeenAt.getTime()) / DAY_MS);
    case 'weeks_with': {
      const from = mondayOf(now.getTime()) - (ast.weeks - 1) * WEEK_MS;
      const weeks = matching(ast)
        .map((e) => e.timestamp.getTime())
        .filter((at) => at >= from)
        .map((at) => Math.floor((at - from) / WEEK_MS));
      return new Set(weeks).size;
    }
  }
}
