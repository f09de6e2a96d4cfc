/**
 * The canonical form of a computed trait definition: a JSON-serialisable tree discriminated on
 * `type`, in the audience AST's style (src/audiences/language/audience-ast.ts): windows, filters
 * and durations are the audience language's own nodes, optional fields are omitted rather than
 * undefined. The text form (trait-parser.ts) parses to it and trait-printer.ts prints it back.
 * docs/computed-traits.md states the meaning of every node; the reference evaluator
 * (test/oracles/trait-evaluator.ts) is its executable form.
 */
import type { PropertyFilter, TimeWindow } from '../../audiences/language/audience-language';

/** Which track events a trait reads: by name, in the window if given, passing every filter. */
export interface EventScope {
  event: string;
  window?: TimeWindow;
  where?: PropertyFilter[];
}

/** `count "Login" within 7 days`: how many matching events (0 when none). */
export interface CountTrait extends EventScope {
  type: 'count';
}

export const AGGREGATE_FUNCTIONS = ['sum', 'avg', 'min', 'max'] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/**
 * `sum "Order Completed".revenue within 90 days`: over the property's numeric values (JSON numbers
 * and numeric strings, as audience value tests read them); no value when there are none.
 */
export interface AggregateTrait extends EventScope {
  type: 'aggregate';
  fn: AggregateFunction;
  property: string[];
}

/**
 * `first "Signed Up".plan` / `last "Plan Selected".plan`: the property at the earliest / latest
 * matching event that has it (not null); events at the same instant are taken in arrival order.
 */
export interface OccurrenceTrait extends EventScope {
  type: 'first_value' | 'last_value';
  property: string[];
}

/** `most frequent "Page Viewed".category`: the value seen on most matching events (ties: see docs). */
export interface MostFrequentTrait extends EventScope {
  type: 'most_frequent';
  property: string[];
}

/** `distinct "Feature Used".feature within 30 days`: the list of distinct values, sorted. */
export interface DistinctTrait extends EventScope {
  type: 'distinct';
  property: string[];
}

/** `count distinct "Feature Used".feature`: how many distinct values (0 when none). */
export interface CountDistinctTrait extends EventScope {
  type: 'count_distinct';
  property: string[];
}

/** `days since last "Login"`: whole days since the latest matching event; no value when none. */
export interface DaysSinceLastTrait {
  type: 'days_since_last';
  event: string;
  where?: PropertyFilter[];
}

/** `days since first seen`: whole days since the profile's first_seen_at. */
export interface DaysSinceFirstSeenTrait {
  type: 'days_since_first_seen';
}

/**
 * `weeks with "Login" in last 8 weeks`: in how many of the last `weeks` calendar weeks (ISO weeks,
 * Monday 00:00 UTC; the current week counts as the last one) a matching event happened (0 when none).
 */
export interface WeeksWithTrait {
  type: 'weeks_with';
  event: string;
  weeks: number;
  where?: PropertyFilter[];
}

export type TraitAst =
  | CountTrait
  | AggregateTrait
  | OccurrenceTrait
  | MostFrequentTrait
  | DistinctTrait
  | CountDistinctTrait
  | DaysSinceLastTrait
  | DaysSinceFirstSeenTrait
  | WeeksWithTrait;

export type TraitType = TraitAst['type'];

export const TRAIT_TYPES = [
  'count',
  'aggregate',
  'first_value',
  'last_value',
  'most_frequent',
  'distinct',
  'count_distinct',
  'days_since_last',
  'days_since_first_seen',
  'weeks_with',
] as const satisfies readonly TraitType[];

/** At most this many calendar weeks in `weeks with … in last N weeks`. */
export const MAX_WEEKS = 520;

/** Whom a trait's values are about: a person, or an account (aggregated over its members). */
export type TraitLevel = 'profile' | 'account';

/** What kind of value a trait has: decides the preview's statistics. */
export type TraitValueKind = 'number' | 'value' | 'list';

export function valueKind(ast: TraitAst): TraitValueKind {
  switch (ast.type) {
    case 'count':
    case 'aggregate':
    case 'count_distinct':
    case 'days_since_last':
    case 'days_since_first_seen':
    case 'weeks_with':
      return 'number';
    case 'first_value':
    case 'last_value':
    case 'most_frequent':
      return 'value';
    case 'distinct':
      return 'list';
  }
}

/** Counts are 0 for a profile with nothing to count; every other trait then has no value. */
export function countsFromZero(ast: TraitAst): boolean {
  return ast.type === 'count' || ast.type === 'count_distinct' || ast.type === 'weeks_with';
}
