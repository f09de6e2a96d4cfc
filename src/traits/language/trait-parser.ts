import type { MatchResult, Node } from 'ohm-js';

import {
  AUDIENCE_LIMITS,
  AudienceParseError,
  audienceSemantics,
  errorAt,
  expectedText,
  positionOf,
  PropertyFilter,
  TimeWindow,
} from '../../audiences/language/audience-language';
import { ACCOUNT_TRAIT_TYPES, AccountTraitAst, ByMembersTrait, MemberEventsTrait } from './account-trait-ast';
import { printAccountTrait } from './account-trait-printer';
import { AggregateFunction, MAX_WEEKS, TraitAst, TraitLevel } from './trait-ast';
import { traitGrammar } from './trait-grammar';
import { printTrait } from './trait-printer';

/**
 * Parses the text form of a computed trait definition (`count "Login" within 7 days`) into its
 * AST. The audience language's semantic actions build every part the two languages share
 * (windows, filters, names, literals); only the trait expressions are built here. Errors are
 * AudienceParseError, with the line and column in the text.
 */

const MAX_TEXT_LENGTH = 10_000;

// Ohm types operation results as `any`; each child is read back with the type the grammar guarantees.
const ast = <T>(node: Node): T => (node as unknown as { ast(): T }).ast();
const optional = <T>(node: Node): T | undefined => {
  const child = node.children[0];
  return child === undefined ? undefined : ast<T>(child);
};

interface Scope {
  window?: TimeWindow;
  where?: PropertyFilter[];
}

interface EventProperty {
  event: string;
  property: string[];
}

function eventName(node: Node): string {
  const value = ast<string>(node);
  if (value.length === 0) throw errorAt(node, 'an event name cannot be empty');
  return value;
}

/**
 * The level being parsed: an account definition aggregates over members, a profile definition is
 * about one person. Parsing is synchronous, so this is set for exactly one parse at a time.
 */
let parsingLevel: TraitLevel = 'profile';

/** With `by members`, the profile trait over all members' events; refused in a profile definition. */
function byMembers(by: Node, trait: MemberEventsTrait): TraitAst | ByMembersTrait {
  const marker = by.children[0];
  if (marker === undefined) return trait;
  if (parsingLevel === 'profile') {
    throw errorAt(marker, '`by members` aggregates over an account\'s members: it needs "level": "account"');
  }
  return { type: 'by_members', of: trait };
}

const ACCOUNT_TYPES: ReadonlySet<string> = new Set(ACCOUNT_TRAIT_TYPES);

export function isAccountTrait(ast: TraitAst | AccountTraitAst): ast is AccountTraitAst {
  return ACCOUNT_TYPES.has(ast.type);
}

/** Why a definition does not fit the level, or undefined when it does. */
export function levelProblem(ast: TraitAst | AccountTraitAst, level: TraitLevel): string | undefined {
  if (level === 'profile') {
    return isAccountTrait(ast)
      ? `\`${printAccountTrait(ast)}\` is about an account's members: it needs "level": "account"`
      : undefined;
  }
  if (isAccountTrait(ast)) return undefined;
  if (ast.type === 'days_since_first_seen') {
    return '`days since first seen` is about one person: for an account say `days since created`';
  }
  return `\`${printTrait(ast)}\` is about one person: an account trait aggregates over its members, e.g. \`${printAccountTrait({ type: 'by_members', of: ast })}\``;
}

/** The present parts only, so absent ones are missing rather than undefined. */
function present<T extends object>(base: T, extras: Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(extras)) if (value !== undefined) out[key] = value;
  return out as T;
}

const semantics = traitGrammar.extendSemantics(audienceSemantics).extendOperation('ast', {
  TraitDefinition(expression) {
    const parsed = ast<TraitAst | AccountTraitAst>(expression);
    const problem = levelProblem(parsed, parsingLevel);
    if (problem) throw errorAt(expression, problem);
    return parsed;
  },
  TraitExpression(expression) {
    return ast<TraitAst | AccountTraitAst>(expression);
  },
  CountDistinct(_count, _distinct, target, by, scope) {
    return byMembers(by, { type: 'count_distinct', ...ast<EventProperty>(target), ...ast<Scope>(scope) });
  },
  CountEvents(_count, event, by, scope) {
    return byMembers(by, { type: 'count', event: eventName(event), ...ast<Scope>(scope) });
  },
  Aggregate(fn, target, by, scope) {
    const name = fn.sourceString.toLowerCase() as AggregateFunction;
    const { event, property } = ast<EventProperty>(target);
    return byMembers(by, { type: 'aggregate', fn: name, event, property, ...ast<Scope>(scope) });
  },
  Occurrence(which, target, by, scope) {
    const type = which.sourceString.toLowerCase() === 'first' ? 'first_value' : 'last_value';
    return byMembers(by, { type, ...ast<EventProperty>(target), ...ast<Scope>(scope) });
  },
  MostFrequent(_most, _frequent, target, by, scope) {
    return byMembers(by, { type: 'most_frequent', ...ast<EventProperty>(target), ...ast<Scope>(scope) });
  },
  DistinctValues(_distinct, target, by, scope) {
    return byMembers(by, { type: 'distinct', ...ast<EventProperty>(target), ...ast<Scope>(scope) });
  },
  DaysSinceFirstSeen(_days, _since, _first, _seen) {
    return { type: 'days_since_first_seen' };
  },
  DaysSinceLast(_days, _since, _last, event, by, where) {
    const trait = present(
      { type: 'days_since_last', event: eventName(event) },
      { where: optional<PropertyFilter[]>(where) },
    );
    return byMembers(by, trait as MemberEventsTrait);
  },
  WeeksWith(_weeks, _with, event, by, _in, _last, count, _word, where) {
    const weeks = Number(count.sourceString);
    if (weeks < 1 || weeks > MAX_WEEKS) throw errorAt(count, `a number of weeks must be between 1 and ${MAX_WEEKS}`);
    const trait = present(
      { type: 'weeks_with', event: eventName(event), weeks },
      { where: optional<PropertyFilter[]>(where) },
    );
    return byMembers(by, trait as MemberEventsTrait);
  },
  ActiveMembers(_members, _active, window) {
    return { type: 'active_members', window: ast<TimeWindow>(window) };
  },
  AllMembers(_members) {
    return { type: 'members' };
  },
  OfMembers(fn, _computed, key, _of, _members) {
    const name = fn.sourceString.toLowerCase() as AggregateFunction;
    return { type: 'of_members', fn: name, trait: ast<string>(key) };
  },
  DaysSinceCreated(_days, _since, _created) {
    return { type: 'days_since_created' };
  },
  Scope_whereFirst(where, window) {
    return { window: ast<TimeWindow>(window), where: ast<PropertyFilter[]>(where) };
  },
  Scope_windowFirst(window, where) {
    return present({}, { window: optional<TimeWindow>(window), where: optional<PropertyFilter[]>(where) });
  },
  EventProperty(event, _dot, path) {
    const property = ast<string[]>(path);
    if (property.length > AUDIENCE_LIMITS.maxPathSegments) {
      throw errorAt(path, `a property path has at most ${AUDIENCE_LIMITS.maxPathSegments} parts`);
    }
    return { event: eventName(event), property };
  },
});

/** Parses the text form of a profile-level computed trait definition; throws AudienceParseError. */
export function parseTrait(text: string): TraitAst {
  return parseAtLevel(text, 'profile') as TraitAst;
}

/** Parses the text form of an account-level computed trait definition; throws AudienceParseError. */
export function parseAccountTrait(text: string): AccountTraitAst {
  return parseAtLevel(text, 'account') as AccountTraitAst;
}

function parseAtLevel(text: string, level: TraitLevel): TraitAst | AccountTraitAst {
  if (text.length > MAX_TEXT_LENGTH) {
    throw new AudienceParseError(1, 1, `a definition can be at most ${MAX_TEXT_LENGTH} characters long`);
  }
  let match: MatchResult;
  try {
    match = traitGrammar.match(text, 'TraitDefinition');
  } catch (error) {
    if (error instanceof RangeError) throw new AudienceParseError(1, 1, 'the definition is nested too deeply');
    throw error;
  }
  if (match.failed()) {
    const { line, column } = positionOf(text, match.getRightmostFailurePosition());
    throw new AudienceParseError(line, column, `expected ${expectedText(match, 'a definition')}`);
  }
  parsingLevel = level;
  try {
    return ast<TraitAst | AccountTraitAst>(semantics(match) as unknown as Node);
  } finally {
    parsingLevel = 'profile';
  }
}
