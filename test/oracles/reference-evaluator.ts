/**
 * The meaning of an audience definition in plain TypeScript over in-memory data. It is the
 * specification the SQL compiler is tested against (test/audiences/compiler-differential.int-spec.ts),
 * so it favours being obviously right over being fast.
 */
import {
  assertUnreachable,
  AudienceAst,
  AudienceCondition,
  CountClause,
  DateLiteral,
  durationSeconds,
  Literal,
  PropertyFilter,
  SequenceStep,
  TimeWindow,
  ValueTest,
} from '../../src/audiences/language/audience-ast';
import {
  compareCodePoints,
  dateLiteralMillis,
  jsonAtPath,
  jsonInstant,
  jsonNumber,
  minusDuration,
} from '../../src/audiences/language/audience-values';

export interface EvaluatorProfile {
  id: string;
  traits: Record<string, unknown>;
  firstSeenAt: Date;
  lastSeenAt: Date;
}

export interface EvaluatorEvent {
  profileId: string;
  type: string;
  name: string | null;
  properties: Record<string, unknown>;
  timestamp: Date;
}

export interface EvaluatorData {
  /** Live profiles only: merged profiles are never members. */
  profiles: readonly EvaluatorProfile[];
  events: readonly EvaluatorEvent[];
  /** Current members by audience key. */
  memberships: ReadonlyMap<string, ReadonlySet<string>>;
  /** Current computed trait values: trait key → profile id → value (no entry: no value). */
  computed?: ReadonlyMap<string, ReadonlyMap<string, unknown>>;
}

export interface EvaluatorContext {
  now: Date;
  eventsSince?: Date | null;
}

interface SeenEvent {
  name: string | null;
  type: string;
  properties: Record<string, unknown>;
  at: number;
}

/** The ids of the profiles that match, in the order given. */
export function evaluateAudience(ast: AudienceAst, data: EvaluatorData, ctx: EvaluatorContext): string[] {
  const now = ctx.now.getTime();
  const since = ctx.eventsSince?.getTime() ?? -Infinity;
  const byProfile = new Map<string, SeenEvent[]>();
  for (const event of data.events) {
    const at = event.timestamp.getTime();
    // Events stamped after now have not happened yet; with eventsSince, earlier ones are not seen.
    if (at > now || at < since) continue;
    const list = byProfile.get(event.profileId) ?? [];
    list.push({ name: event.name, type: event.type, properties: event.properties, at });
    byProfile.set(event.profileId, list);
  }
  return data.profiles
    .filter((profile) => new ProfileEvaluator(profile, byProfile.get(profile.id) ?? [], data, ctx).matches(ast))
    .map((profile) => profile.id);
}

class ProfileEvaluator {
  private readonly now: number;

  constructor(
    private readonly profile: EvaluatorProfile,
    private readonly events: readonly SeenEvent[],
    private readonly data: EvaluatorData,
    private readonly ctx: EvaluatorContext,
  ) {
    this.now = ctx.now.getTime();
  }

  matches(node: AudienceCondition): boolean {
    switch (node.type) {
      case 'performed':
        return countHolds(this.matching(node.event, node.where, node.window).length, node.count);
      case 'not_performed':
        return this.matching(node.event, node.where, node.window).length === 0;
      case 'first_performed':
      case 'last_performed': {
        const times = this.matching(node.event, node.where).map((e) => e.at);
        if (times.length === 0) return false;
        const at = node.type === 'first_performed' ? Math.min(...times) : Math.max(...times);
        return this.inWindow(at, node.window);
      }
      case 'active':
        return this.events.some((e) => this.inWindow(e.at, node.window));
      case 'inactive':
        return !this.events.some((e) => this.inWindow(e.at, { kind: 'within', duration: node.duration }));
      case 'first_seen':
        return this.inWindow(this.profile.firstSeenAt.getTime(), node.window);
      case 'last_seen':
        return this.inWindow(this.profile.lastSeenAt.getTime(), node.window);
      case 'trait':
        return this.test(jsonAtPath(this.profile.traits, node.path), node);
      case 'sequence':
        return this.sequence(
          node.steps,
          node.notFollowedBy,
          node.conversionWindow && durationSeconds(node.conversionWindow) * 1000,
        );
      case 'computed':
        return this.test(this.data.computed?.get(node.trait)?.get(this.profile.id), node);
      case 'in_audience':
        return this.data.memberships.get(node.audience)?.has(this.profile.id) ?? false;
      case 'and':
        return node.conditions.every((c) => this.matches(c));
      case 'or':
        return node.conditions.some((c) => this.matches(c));
      case 'not':
        return !this.matches(node.condition);
      case 'members':
      case 'member_count':
      case 'created':
        throw new Error(`${node.type} is an account condition (see account-reference-evaluator.ts)`);
      default:
        return assertUnreachable(node);
    }
  }

  /** Track events with this name passing every filter, in the window if given. */
  private matching(event: string, where: readonly PropertyFilter[] | undefined, window?: TimeWindow): SeenEvent[] {
    return this.events.filter(
      (e) =>
        e.type === 'track' &&
        e.name === event &&
        (window === undefined || this.inWindow(e.at, window)) &&
        (where ?? []).every((f) => this.test(jsonAtPath(e.properties, f.path), f)),
    );
  }

  private inWindow(at: number, window: TimeWindow): boolean {
    return windowHolds(at, window, this.ctx.now);
  }

  /**
   * Is there a chain of events, one per step, each strictly after the previous and, with a window,
   * no later than the first plus the window, such that (for a drop-off) no `notFollowedBy` event
   * follows the last step before the window closes, the window having closed by now?
   */
  private sequence(
    steps: readonly SequenceStep[],
    notFollowedBy: SequenceStep | undefined,
    windowMs: number | undefined,
  ): boolean {
    const candidates = steps.map((s) => this.matching(s.event, s.where).map((e) => e.at));
    const missing = notFollowedBy ? this.matching(notFollowedBy.event, notFollowedBy.where).map((e) => e.at) : [];
    const extend = (step: number, previous: number, first: number): boolean => {
      const deadline = windowMs === undefined ? Infinity : first + windowMs;
      if (step === steps.length) {
        return notFollowedBy === undefined || !missing.some((at) => at > previous && at <= deadline);
      }
      return (candidates[step] ?? []).some((at) => at > previous && at <= deadline && extend(step + 1, at, first));
    };
    const firstDeadline = notFollowedBy && windowMs !== undefined ? this.now - windowMs : Infinity;
    return (candidates[0] ?? []).some((first) => first <= firstDeadline && extend(1, first, first));
  }

  private test(value: unknown, test: ValueTest): boolean {
    return valueTestHolds(value, test, this.ctx.now);
  }
}

/** within d = (now - d, now]; before d = (-inf, now - d]; between a and b = [a, b). */
export function windowHolds(at: number, window: TimeWindow, now: Date): boolean {
  switch (window.kind) {
    case 'within':
      return at > minusDuration(now, window.duration).getTime() && at <= now.getTime();
    case 'before':
      return at <= minusDuration(now, window.duration).getTime();
    case 'between':
      return at >= dateLiteralMillis({ date: window.from }) && at < dateLiteralMillis({ date: window.to });
    default:
      return assertUnreachable(window);
  }
}

function countHolds(count: number, clause: CountClause | undefined): boolean {
  const { op, value } = clause ?? { op: 'at_least', value: 1 };
  switch (op) {
    case 'at_least':
      return count >= value;
    case 'at_most':
      return count <= value;
    case 'exactly':
      return count === value;
    default:
      return assertUnreachable(op);
  }
}

/** See compiler/value-tests.ts for the rules; `value` is undefined when the key is missing. */
export function valueTestHolds(value: unknown, test: ValueTest, now: Date): boolean {
  if (value === undefined || value === null) return false;
  switch (test.op) {
    case 'eq':
      return compare(value, test.value) === 0;
    case 'neq': {
      const c = compare(value, test.value);
      return c !== undefined && c !== 0;
    }
    case 'lt':
      return (compare(value, test.value) ?? 0) < 0;
    case 'lte':
      return (compare(value, test.value) ?? 1) <= 0;
    case 'gt':
      return (compare(value, test.value) ?? 0) > 0;
    case 'gte':
      return (compare(value, test.value) ?? -1) >= 0;
    case 'contains':
      return typeof value === 'string' && value.includes(test.value);
    case 'starts_with':
      return typeof value === 'string' && value.startsWith(test.value);
    case 'exists':
      return true;
    case 'in':
      return test.values.some((candidate) => compare(value, candidate) === 0);
    case 'within': {
      const at = jsonInstant(value);
      return at !== undefined && at > minusDuration(now, test.duration).getTime() && at <= now.getTime();
    }
    case 'before': {
      const at = jsonInstant(value);
      return at !== undefined && at <= minusDuration(now, test.duration).getTime();
    }
    default:
      return assertUnreachable(test);
  }
}

/** Negative, zero or positive; undefined when the value is not of the literal's kind. */
function compare(value: unknown, literal: Literal): number | undefined {
  if (typeof literal === 'string') return typeof value === 'string' ? compareCodePoints(value, literal) : undefined;
  if (typeof literal === 'boolean') return typeof value === 'boolean' ? (value === literal ? 0 : 1) : undefined;
  if (typeof literal === 'number') {
    const n = jsonNumber(value);
    if (n === undefined) return undefined;
    return n < literal ? -1 : n > literal ? 1 : 0;
  }
  return compareInstant(value, literal);
}

function compareInstant(value: unknown, literal: DateLiteral): number | undefined {
  const at = jsonInstant(value);
  if (at === undefined) return undefined;
  const target = dateLiteralMillis(literal);
  return at < target ? -1 : at > target ? 1 : 0;
}
