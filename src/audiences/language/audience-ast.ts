/**
 * The canonical form of an audience definition: a JSON-serialisable tree, discriminated on `type`.
 * The text language (audience-parser.ts) parses to it and audience-printer.ts prints it back; the
 * compiler turns it into SQL and the test oracle test/oracles/reference-evaluator.ts evaluates it in
 * memory. GRAMMAR.md states the meaning of every node.
 *
 * Optional fields are omitted rather than set to undefined or to an empty list, so that an AST that
 * went through JSON, the printer and the parser deep-equals the original.
 */

export const DURATION_UNITS = ['minutes', 'hours', 'days', 'weeks'] as const;
export type DurationUnit = (typeof DURATION_UNITS)[number];

/** A length of time; kept as written so that `2 weeks` prints back as `2 weeks`, not `14 days`. */
export interface Duration {
  /** A positive whole number. */
  amount: number;
  unit: DurationUnit;
}

export const SECONDS_PER_UNIT: Readonly<Record<DurationUnit, number>> = {
  minutes: 60,
  hours: 3_600,
  days: 86_400,
  weeks: 604_800,
};

export function durationSeconds(duration: Duration): number {
  return duration.amount * SECONDS_PER_UNIT[duration.unit];
}

/**
 * When something happened, relative to `now` or between two instants:
 * - within d:       now - d <  t <= now
 * - before d (ago):           t <= now - d
 * - between a and b:      a <= t <  b      (a and b are date literals, see DateLiteral)
 */
export type TimeWindow =
  | { kind: 'within'; duration: Duration }
  | { kind: 'before'; duration: Duration }
  | { kind: 'between'; from: string; to: string };

/**
 * A date (`2026-01-01`, midnight UTC) or an instant (`2026-01-01T10:30:00Z`, `…+05:30`; no offset
 * means UTC). Wrapped in an object so that JSON can tell it from the string "2026-01-01".
 */
export interface DateLiteral {
  date: string;
}

export type Literal = string | number | boolean | DateLiteral;

export const COMPARISON_OPS = ['eq', 'neq', 'lt', 'lte', 'gt', 'gte'] as const;
export type ComparisonOp = (typeof COMPARISON_OPS)[number];
export type OrderingOp = Exclude<ComparisonOp, 'eq' | 'neq'>;

/** A test on one JSON value (an event property or a profile trait). */
export type ValueTest =
  | { op: 'eq' | 'neq'; value: Literal }
  | { op: OrderingOp; value: string | number | DateLiteral }
  | { op: 'contains' | 'starts_with'; value: string }
  | { op: 'exists' }
  | { op: 'in'; values: Literal[] }
  | { op: 'within' | 'before'; duration: Duration };

export type ValueTestOp = ValueTest['op'];

/** `path` is a JSON path into properties or traits: ["address", "city"] is `address.city`. */
export type PropertyFilter = { path: string[] } & ValueTest;

export const COUNT_OPS = ['at_least', 'exactly', 'at_most'] as const;
export type CountOp = (typeof COUNT_OPS)[number];

export interface CountClause {
  op: CountOp;
  /** A whole number >= 0. */
  value: number;
}

/** Matching events: track events with this name, in the window, passing every filter. */
export interface PerformedCondition {
  type: 'performed';
  event: string;
  /** Absent means "at least once". */
  count?: CountClause;
  window?: TimeWindow;
  where?: PropertyFilter[];
}

/** No matching event (in the window, if one is given). */
export interface NotPerformedCondition {
  type: 'not_performed';
  event: string;
  window?: TimeWindow;
  where?: PropertyFilter[];
}

/** The earliest (first_performed) or latest (last_performed) matching event falls in the window. */
export interface FirstLastPerformedCondition {
  type: 'first_performed' | 'last_performed';
  event: string;
  window: TimeWindow;
  where?: PropertyFilter[];
}

/** At least one event of any type in the window. */
export interface ActiveCondition {
  type: 'active';
  window: TimeWindow;
}

/** No event of any type within the last `duration`. */
export interface InactiveCondition {
  type: 'inactive';
  duration: Duration;
}

/** The profile's first_seen_at / last_seen_at falls in the window. */
export interface SeenCondition {
  type: 'first_seen' | 'last_seen';
  window: TimeWindow;
}

export type TraitCondition = { type: 'trait'; path: string[] } & ValueTest;

export interface SequenceStep {
  event: string;
  where?: PropertyFilter[];
}

/**
 * Steps performed in this order, each strictly after the previous one, the last one at most
 * `conversionWindow` after the first. With `notFollowedBy` (a drop-off), the profile did the steps
 * and then did not perform `notFollowedBy` before the window closed (and the window has closed).
 */
export interface SequenceCondition {
  type: 'sequence';
  steps: SequenceStep[];
  notFollowedBy?: SequenceStep;
  conversionWindow?: Duration;
}

/**
 * The current value of the computed trait with this key (same workspace) passes the test, with
 * the same value semantics as `trait`: a profile without a value fails every test.
 */
export type ComputedCondition = { type: 'computed'; trait: string } & ValueTest;

/** The profile is a current member of the audience with this key (same workspace). */
export interface InAudienceCondition {
  type: 'in_audience';
  audience: string;
}

/**
 * Whom a definition is about. A profile definition is a condition over one person; an account
 * definition (an account audience) a condition over a group of `group` calls, whose member
 * conditions (`any member …`) are profile conditions again. Some conditions belong to one level
 * only (see LEVEL_OF_CONDITION).
 */
export const SUBJECT_LEVELS = ['profile', 'account'] as const;
export type SubjectLevel = (typeof SUBJECT_LEVELS)[number];

export const MEMBER_QUANTIFIERS = ['any', 'no', 'all'] as const;
export type MemberQuantifier = (typeof MEMBER_QUANTIFIERS)[number];

/**
 * Account level: some (`any`), none (`no`) or every (`all`) current member of the account satisfies
 * a profile condition. `all` holds for an account without members, `any` does not.
 */
export interface MembersCondition {
  type: 'members';
  quantifier: MemberQuantifier;
  condition: AudienceCondition;
}

/** Account level: the account's number of current members compared with `value`. */
export interface MemberCountCondition {
  type: 'member_count';
  op: CountOp;
  /** A whole number >= 0. */
  value: number;
}

/** Account level: the account's first `group` call falls in the window. */
export interface CreatedCondition {
  type: 'created';
  window: TimeWindow;
}

export interface AndCondition {
  type: 'and';
  conditions: AudienceCondition[];
}

export interface OrCondition {
  type: 'or';
  conditions: AudienceCondition[];
}

export interface NotCondition {
  type: 'not';
  condition: AudienceCondition;
}

export type AudienceCondition =
  | PerformedCondition
  | NotPerformedCondition
  | FirstLastPerformedCondition
  | ActiveCondition
  | InactiveCondition
  | SeenCondition
  | TraitCondition
  | ComputedCondition
  | SequenceCondition
  | InAudienceCondition
  | MembersCondition
  | MemberCountCondition
  | CreatedCondition
  | AndCondition
  | OrCondition
  | NotCondition;

/** A whole audience definition is one condition. */
export type AudienceAst = AudienceCondition;

export type AudienceConditionType = AudienceCondition['type'];

/**
 * The one level a condition belongs to, or `both` (traits — the profile's or the account's —,
 * membership of another audience of the same level, and the boolean operators).
 */
export const LEVEL_OF_CONDITION: Readonly<Record<AudienceConditionType, SubjectLevel | 'both'>> = {
  performed: 'profile',
  not_performed: 'profile',
  first_performed: 'profile',
  last_performed: 'profile',
  active: 'profile',
  inactive: 'profile',
  first_seen: 'profile',
  last_seen: 'profile',
  sequence: 'profile',
  // A profile's computed trait or score; at account level an account trait or score
  // (`computed active_members_14d = 0`, `computed adoption_score_band = "red"`).
  computed: 'both',
  members: 'account',
  member_count: 'account',
  created: 'account',
  trait: 'both',
  in_audience: 'both',
  and: 'both',
  or: 'both',
  not: 'both',
};

export function isDateLiteral(value: Literal): value is DateLiteral {
  return typeof value === 'object';
}

/** Used as the last statement of an exhaustive switch: it only compiles when every case is handled. */
export function assertUnreachable(value: never): never {
  throw new Error(`Unhandled audience node: ${JSON.stringify(value)}`);
}

/**
 * The keys of every audience the definition refers to, in order of first appearance, without
 * repeats; in an account definition, those of member conditions (profile audiences) included.
 */
export function referencedAudienceKeys(ast: AudienceAst): string[] {
  return referencedKeys(ast, (node) => (node.type === 'in_audience' ? node.audience : undefined));
}

/** The keys of every computed trait the definition reads, in order of first appearance, without repeats. */
export function referencedTraitKeys(ast: AudienceAst): string[] {
  return referencedKeys(ast, (node) => (node.type === 'computed' ? node.trait : undefined));
}

function referencedKeys(ast: AudienceAst, keyOf: (node: AudienceCondition) => string | undefined): string[] {
  const keys = new Set<string>();
  const visit = (node: AudienceCondition): void => {
    const key = keyOf(node);
    if (key !== undefined) keys.add(key);
    switch (node.type) {
      case 'and':
      case 'or':
        node.conditions.forEach(visit);
        return;
      case 'not':
      case 'members':
        visit(node.condition);
        return;
      case 'member_count':
      case 'created':
      case 'performed':
      case 'not_performed':
      case 'first_performed':
      case 'last_performed':
      case 'active':
      case 'inactive':
      case 'first_seen':
      case 'last_seen':
      case 'trait':
      case 'computed':
      case 'sequence':
      case 'in_audience':
        return;
      default:
        assertUnreachable(node);
    }
  };
  visit(ast);
  return [...keys];
}

/**
 * The keys a definition refers to by level: in an account definition, `in audience` at the top
 * names account audiences and inside a member condition profile audiences.
 */
export function referencedAudienceKeysByLevel(ast: AudienceAst, level: SubjectLevel): Record<SubjectLevel, string[]> {
  return keysByLevel(ast, level, (node) => (node.type === 'in_audience' ? node.audience : undefined));
}

/**
 * The computed trait keys a definition reads by level: in an account definition, `computed` at the
 * top names account-level traits and inside a member condition profile-level ones.
 */
export function referencedTraitKeysByLevel(ast: AudienceAst, level: SubjectLevel): Record<SubjectLevel, string[]> {
  return keysByLevel(ast, level, (node) => (node.type === 'computed' ? node.trait : undefined));
}

function keysByLevel(
  ast: AudienceAst,
  level: SubjectLevel,
  keyOf: (node: AudienceCondition) => string | undefined,
): Record<SubjectLevel, string[]> {
  const keys: Record<SubjectLevel, Set<string>> = { profile: new Set(), account: new Set() };
  const visit = (node: AudienceCondition, at: SubjectLevel): void => {
    const key = keyOf(node);
    if (key !== undefined) keys[at].add(key);
    switch (node.type) {
      case 'in_audience':
        return;
      case 'and':
      case 'or':
        node.conditions.forEach((c) => visit(c, at));
        return;
      case 'not':
        visit(node.condition, at);
        return;
      case 'members':
        visit(node.condition, 'profile');
        return;
      case 'performed':
      case 'not_performed':
      case 'first_performed':
      case 'last_performed':
      case 'active':
      case 'inactive':
      case 'first_seen':
      case 'last_seen':
      case 'trait':
      case 'computed':
      case 'sequence':
      case 'member_count':
      case 'created':
        return;
      default:
        assertUnreachable(node);
    }
  };
  visit(ast, level);
  return { profile: [...keys.profile], account: [...keys.account] };
}
