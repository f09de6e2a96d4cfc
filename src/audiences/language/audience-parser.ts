import type { MatchResult, Node } from 'ohm-js';

import { describeProblems } from '../../common/problems';
import {
  AudienceAst,
  AudienceCondition,
  AudienceConditionType,
  CountClause,
  CountOp,
  Duration,
  DurationUnit,
  LEVEL_OF_CONDITION,
  Literal,
  MemberQuantifier,
  PropertyFilter,
  SECONDS_PER_UNIT,
  SequenceStep,
  SubjectLevel,
  TimeWindow,
  ValueTest,
} from './audience-ast';
import { audienceGrammar } from './audience-grammar';
import { AUDIENCE_LIMITS, validateAudienceAst } from './audience-validator';
import { isValidDateLiteral, parseInstant } from './audience-values';

/** A definition that does not parse; `message` reads `line 1, col 27: expected a whole number`. */
export class AudienceParseError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    /** The message without its position. */
    readonly reason: string,
  ) {
    super(`line ${line}, col ${column}: ${reason}`);
    this.name = 'AudienceParseError';
  }
}

const MAX_TEXT_LENGTH = 100_000;

/** Line and column (both from 1; columns count Unicode characters) of an offset into `text`. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: [...before.slice(lineStart)].length + 1 };
}

export function errorAt(node: Node, reason: string): AudienceParseError {
  const { line, column } = positionOf(node.source.sourceString, node.source.startIdx);
  return new AudienceParseError(line, column, reason);
}

/** `a filter` → `the filter`. */
const definite = (what: string): string => what.replace(/^an? /, 'the ');

/** What the grammar expected where matching stopped, with the many ways to start a condition summarised. */
export function expectedText(match: MatchResult, what: string): string {
  // getRightmostFailures exists on Ohm's MatchResult but is missing from its type declarations.
  const failures = (
    match as unknown as { getRightmostFailures(): { isFluffy(): boolean; toString(): string }[] }
  ).getRightmostFailures();
  let items = [...new Set(failures.filter((f) => !f.isFluffy()).map((f) => f.toString()))].reverse();
  const conditionStarts = ['"performed"', '"never"', '"first"', '"last"', '"active"', '"inactive"', '"trait"'];
  if (conditionStarts.every((start) => items.includes(start))) {
    const accountStarts = ['"any"', '"no"', '"all"', '"members"', '"created"'];
    const summarised = new Set([
      ...conditionStarts,
      ...accountStarts,
      '"computed"',
      '"in"',
      '"("',
      '"not"',
      'a property name',
    ]);
    items = ['a condition', ...items.filter((item) => !summarised.has(item))];
  }
  items = items.map((item) => (item === 'end of input' ? `the end of ${definite(what)}` : item));
  if (items.length <= 1) return items[0] ?? 'something else';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

// The semantic actions below build the AST; Ohm types operation results as `any`, so each child
// is read back through one of these helpers with the type the grammar guarantees.
const ast = <T>(node: Node): T => (node as unknown as { ast(): T }).ast();
const optional = <T>(node: Node): T | undefined => {
  const child = node.children[0];
  return child === undefined ? undefined : ast<T>(child);
};
const keyword = (node: Node): string => node.sourceString.toLowerCase();

const UNITS: Record<string, DurationUnit> = {
  minute: 'minutes',
  minutes: 'minutes',
  hour: 'hours',
  hours: 'hours',
  day: 'days',
  days: 'days',
  week: 'weeks',
  weeks: 'weeks',
};

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', t: '\t', r: '\r' };

function wholeNumber(node: Node, min: number, max: number, what: string): number {
  const value = Number(node.sourceString);
  if (value < min || value > max) throw errorAt(node, `${what} must be between ${min} and ${max}`);
  return value;
}

function nonEmpty(node: Node, what: string): string {
  const value = ast<string>(node);
  if (value.length === 0) throw errorAt(node, `${what} cannot be empty`);
  return value;
}

/** Adds the optional parts that are present, so absent ones are missing rather than undefined. */
function withOptional<T extends object>(base: T, extras: Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(extras)) if (value !== undefined) out[key] = value;
  return out as T;
}

/**
 * The level the condition being built is at: the definition's, and `profile` inside a member
 * condition. Set by parseFrom around one synchronous build of the AST.
 */
let currentLevel: SubjectLevel = 'profile';

const LEVEL_HINT: Record<SubjectLevel, string> = {
  profile: 'a condition on an account, for account audiences ("level": "account")',
  account:
    'a condition on a person, not on an account: say which members it is about, e.g. `any member …`, `no member …` or `all members …`',
};

/** Refuses, at the node's position, a condition of a type that does not belong to the current level. */
function requireLevel(node: Node, type: AudienceConditionType): void {
  const level = LEVEL_OF_CONDITION[type];
  if (level !== 'both' && level !== currentLevel) {
    const words = node.sourceString.split(/\s+/).slice(0, 2).join(' ');
    throw errorAt(node, `\`${words}\` is ${LEVEL_HINT[currentLevel]}`);
  }
}

function atLevel<T extends AudienceCondition>(node: Node, condition: T): T {
  requireLevel(node, condition.type);
  return condition;
}

const QUANTIFIERS: Record<string, MemberQuantifier> = { any: 'any', no: 'no', all: 'all' };

interface ThenStep {
  negated: boolean;
  step: SequenceStep;
  node: Node;
}

export const audienceSemantics = audienceGrammar.createSemantics().addOperation<unknown>('ast', {
  Disjunction(first, _ors, rest) {
    const conditions = [first, ...rest.children].map((n) => ast<AudienceCondition>(n));
    return conditions.length === 1 ? conditions[0] : { type: 'or', conditions };
  },
  Conjunction(first, _ands, rest) {
    const conditions = [first, ...rest.children].map((n) => ast<AudienceCondition>(n));
    return conditions.length === 1 ? conditions[0] : { type: 'and', conditions };
  },
  Unary_not(_not, operand) {
    return { type: 'not', condition: ast<AudienceCondition>(operand) };
  },
  Primary_paren(_open, inner, _close) {
    return ast<AudienceCondition>(inner);
  },
  Performed(_performed, event, count, window, where) {
    return atLevel(
      this,
      withOptional<AudienceCondition>(
        { type: 'performed', event: nonEmpty(event, 'an event name') },
        { count: optional<CountClause>(count), window: optional<TimeWindow>(window), where: optional(where) },
      ),
    );
  },
  NeverPerformed(_never, _performed, event, window, where) {
    return atLevel(
      this,
      withOptional<AudienceCondition>(
        { type: 'not_performed', event: nonEmpty(event, 'an event name') },
        { window: optional<TimeWindow>(window), where: optional(where) },
      ),
    );
  },
  FirstLastPerformed(which, _performed, event, window, where) {
    return atLevel(
      this,
      withOptional<AudienceCondition>(
        {
          type: keyword(which) === 'first' ? 'first_performed' : 'last_performed',
          event: nonEmpty(event, 'an event name'),
          window: ast<TimeWindow>(window),
        },
        { where: optional(where) },
      ),
    );
  },
  Seen(which, _seen, window) {
    return atLevel(this, {
      type: keyword(which) === 'first' ? 'first_seen' : 'last_seen',
      window: ast<TimeWindow>(window),
    });
  },
  Active(_active, window) {
    return atLevel(this, { type: 'active', window: ast<TimeWindow>(window) });
  },
  Inactive(_inactive, duration) {
    return atLevel(this, { type: 'inactive', duration: ast<Duration>(duration) });
  },
  Members(quantifier, condition) {
    const outer = currentLevel;
    requireLevel(this, 'members');
    currentLevel = 'profile';
    try {
      const inner = ast<AudienceCondition>(condition);
      return {
        type: 'members',
        quantifier: QUANTIFIERS[keyword(quantifier).split(/\s+/)[0] ?? ''] ?? 'any',
        condition: inner,
      };
    } finally {
      currentLevel = outer;
    }
  },
  MemberCount(_members, bound) {
    return atLevel(this, { type: 'member_count', ...ast<CountClause>(bound) });
  },
  CountBound_atLeast(_at, _least, n) {
    return count('at_least', n);
  },
  CountBound_atMost(_at, _most, n) {
    return count('at_most', n);
  },
  CountBound_exactly(_exactly, n) {
    return count('exactly', n);
  },
  Created(_created, window) {
    return atLevel(this, { type: 'created', window: ast<TimeWindow>(window) });
  },
  Trait(_trait, filter) {
    const { path, ...test } = ast<PropertyFilter>(filter);
    return { type: 'trait', path, ...test };
  },
  Computed(_computed, key, test) {
    return { type: 'computed', trait: nonEmpty(key, 'a computed trait key'), ...ast<ValueTest>(test) };
  },
  TraitKey(segment) {
    return ast<string>(segment);
  },
  InAudience(_in, _audience, key) {
    return { type: 'in_audience', audience: nonEmpty(key, 'an audience key') };
  },
  MisplacedFilter(filter) {
    const text = filter.sourceString;
    throw errorAt(
      filter,
      `expected a condition, not the filter \`${text}\`: to test a profile trait write \`trait ${text}\`; ` +
        'to give an event several filters put them in parentheses: `where (plan = "Pro" and total > 100)`',
    );
  },
  Sequence(first, thenSteps, conversionWindow) {
    requireLevel(this, 'sequence');
    const rest = thenSteps.children.map((n) => ({ ...ast<Omit<ThenStep, 'node'>>(n), node: n }));
    const negatedIndex = rest.findIndex((s) => s.negated);
    if (negatedIndex >= 0 && negatedIndex !== rest.length - 1) {
      throw errorAt(rest[negatedIndex]?.node ?? first, 'only the last step of a sequence can be `not performed`');
    }
    const last = rest[rest.length - 1];
    const positive = last?.negated ? rest.slice(0, -1) : rest;
    return withOptional(
      { type: 'sequence', steps: [ast<SequenceStep>(first), ...positive.map((s) => s.step)] },
      { notFollowedBy: last?.negated ? last.step : undefined, conversionWindow: optional(conversionWindow) },
    );
  },
  Step(_performed, event, where) {
    return withOptional({ event: nonEmpty(event, 'an event name') }, { where: optional(where) });
  },
  ThenStep_negated(_then, _not, _performed, event, where) {
    return {
      negated: true,
      step: withOptional({ event: nonEmpty(event, 'an event name') }, { where: optional(where) }),
    };
  },
  ThenStep_positive(_then, step) {
    return { negated: false, step: ast<SequenceStep>(step) };
  },
  ConversionWindow(_within, duration) {
    return ast<Duration>(duration);
  },
  Count_atLeast(_at, _least, n, _times) {
    return count('at_least', n);
  },
  Count_atMost(_at, _most, n, _times) {
    return count('at_most', n);
  },
  Count_exactly(_exactly, n, _times) {
    return count('exactly', n);
  },
  Window_within(_within, duration) {
    return { kind: 'within', duration: ast<Duration>(duration) };
  },
  Window_before(_before, duration, _ago) {
    return { kind: 'before', duration: ast<Duration>(duration) };
  },
  Window_between(_between, from, _and, to) {
    const window = { kind: 'between', from: ast<string>(from), to: ast<string>(to) };
    if ((parseInstant(window.from) ?? 0) >= (parseInstant(window.to) ?? 0)) {
      throw errorAt(to, `the end of the window (${window.to}) must be after its start (${window.from})`);
    }
    return window;
  },
  Duration(amount, unitNode) {
    const unit = UNITS[keyword(unitNode)] ?? 'days';
    const max = Math.floor(AUDIENCE_LIMITS.maxDurationSeconds / SECONDS_PER_UNIT[unit]);
    return { amount: wholeNumber(amount, 1, max, `a number of ${unit}`), unit };
  },
  Where_many(_where, _open, filters, _close) {
    return ast<PropertyFilter[]>(filters);
  },
  Where_one(_where, filter) {
    return [ast<PropertyFilter>(filter)];
  },
  FilterList(first, _ands, rest) {
    const filters = [first, ...rest.children].map((n) => ast<PropertyFilter>(n));
    if (filters.length > AUDIENCE_LIMITS.maxFilters) {
      throw errorAt(first, `an event takes at most ${AUDIENCE_LIMITS.maxFilters} filters`);
    }
    return filters;
  },
  Filters_paren(_open, filters, _close) {
    return ast<PropertyFilter[]>(filters);
  },
  Filters_bare(filters) {
    return ast<PropertyFilter[]>(filters);
  },
  PropertyPath(path) {
    return ast<string[]>(path);
  },
  Filter(path, test) {
    return { path: ast<string[]>(path), ...ast<ValueTest>(test) };
  },
  Test_neq: (_op, value) => ({ op: 'neq', value: ast<Literal>(value) }),
  Test_lte: (_op, value) => ({ op: 'lte', value: ast<Literal>(value) }),
  Test_gte: (_op, value) => ({ op: 'gte', value: ast<Literal>(value) }),
  Test_eq: (_op, value) => ({ op: 'eq', value: ast<Literal>(value) }),
  Test_lt: (_op, value) => ({ op: 'lt', value: ast<Literal>(value) }),
  Test_gt: (_op, value) => ({ op: 'gt', value: ast<Literal>(value) }),
  Test_contains: (_op, value) => ({ op: 'contains', value: ast<string>(value) }),
  Test_startsWith: (_starts, _with, value) => ({ op: 'starts_with', value: ast<string>(value) }),
  Test_exists: (_exists) => ({ op: 'exists' }),
  Test_in(_in, _open, list, _close) {
    const values = list.asIteration().children.map((n) => ast<Literal>(n));
    if (values.length > AUDIENCE_LIMITS.maxListValues) {
      throw errorAt(list, `a list holds at most ${AUDIENCE_LIMITS.maxListValues} values`);
    }
    return { op: 'in', values };
  },
  Test_within: (_within, duration) => ({ op: 'within', duration: ast<Duration>(duration) }),
  Test_before: (_before, duration, _ago) => ({ op: 'before', duration: ast<Duration>(duration) }),
  Literal(value) {
    return literal(value);
  },
  OrderedLiteral(value) {
    return literal(value);
  },
  DateValue(date) {
    return dateLiteral(date).date;
  },
  path(first, _dots, rest) {
    const segments = [first, ...rest.children].map((n) => ast<string>(n));
    if (segments.length > AUDIENCE_LIMITS.maxPathSegments) {
      throw errorAt(first, `a property path has at most ${AUDIENCE_LIMITS.maxPathSegments} parts`);
    }
    return segments;
  },
  pathSegment(segment) {
    return segment.ctorName === 'ident' ? segment.sourceString : ast<string>(segment);
  },
  string(_open, _chars, _close) {
    const value = this.sourceString.slice(1, -1).replace(/\\(.)/gsu, (_match, c: string) => ESCAPES[c] ?? c);
    if (value.length > AUDIENCE_LIMITS.maxStringLength) {
      throw errorAt(this, `a string can be at most ${AUDIENCE_LIMITS.maxStringLength} characters long`);
    }
    if (value.includes('\u0000')) throw errorAt(this, 'a string cannot contain the NUL character');
    if (/\p{Cs}/u.test(value)) throw errorAt(this, 'a string must be well-formed Unicode');
    return value;
  },
});

/** The value of a Literal's single child: a dateValue, number, string, true or false. */
function literal(node: Node): Literal {
  switch (node.ctorName) {
    case 'dateValue':
      return dateLiteral(node);
    case 'number': {
      const value = Number(node.sourceString);
      if (!Number.isFinite(value)) throw errorAt(node, `${node.sourceString} is too large a number`);
      return value;
    }
    case 'true':
      return true;
    case 'false':
      return false;
    default:
      return ast<string>(node);
  }
}

function dateLiteral(node: Node): { date: string } {
  if (!isValidDateLiteral(node.sourceString)) throw errorAt(node, `${node.sourceString} is not a valid date`);
  return { date: node.sourceString };
}

function count(op: CountOp, n: Node): CountClause {
  return { op, value: wholeNumber(n, 0, AUDIENCE_LIMITS.maxCount, 'a count') };
}

type StartRule = 'Definition' | 'Filters' | 'PropertyPath';

/** Matches `text` from `rule` and builds its AST; positions in errors are those in `text`. */
function parseFrom<T>(text: string, rule: StartRule, what: string, level: SubjectLevel = 'profile'): T {
  if (text.length > MAX_TEXT_LENGTH) {
    throw new AudienceParseError(1, 1, `${what} can be at most ${MAX_TEXT_LENGTH} characters long`);
  }
  try {
    const match = audienceGrammar.match(text, rule);
    if (match.failed()) {
      const { line, column } = positionOf(text, match.getRightmostFailurePosition());
      throw new AudienceParseError(line, column, `expected ${expectedText(match, what)}`);
    }
    currentLevel = level;
    return ast<T>(audienceSemantics(match) as unknown as Node);
  } catch (error) {
    // Ohm recurses once per nesting level; absurdly deep parentheses exhaust the stack.
    if (error instanceof RangeError) throw new AudienceParseError(1, 1, `${definite(what)} is nested too deeply`);
    throw error;
  } finally {
    currentLevel = 'profile';
  }
}

/**
 * Parses the text form of an audience definition at a level (profile unless said otherwise);
 * throws AudienceParseError, also at the position of a condition of the other level.
 */
export function parseAudience(text: string, level: SubjectLevel = 'profile'): AudienceAst {
  const result = parseFrom<AudienceAst>(text, 'Definition', 'a definition', level);
  // Limits that span the whole tree (nesting depth, list sizes) are the validator's to enforce.
  const checked = validateAudienceAst(result, 'definition', level);
  if (!checked.ok) {
    const first = checked.errors[0];
    throw new AudienceParseError(
      1,
      1,
      first ? describeProblems([{ field: first.path, reason: first.message }]) : 'invalid definition',
    );
  }
  return checked.ast;
}

/**
 * Parses property filters on their own, as a `where` clause holds them: `total > 100`,
 * `plan = "Pro" and total > 100` or the same in parentheses. Throws AudienceParseError with the
 * line and column in `text`.
 */
export function parseFilters(text: string): PropertyFilter[] {
  return parseFrom<PropertyFilter[]>(text, 'Filters', 'a filter');
}

/** Parses a property path: `plan`, `address.city`, `"Lifetime Value"`. Throws AudienceParseError. */
export function parsePropertyPath(text: string): string[] {
  return parseFrom<string[]>(text, 'PropertyPath', 'a property path');
}
