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
import { AggregateFunction, MAX_WEEKS, TraitAst } from './trait-ast';
import { traitGrammar } from './trait-grammar';

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

/** The present parts only, so absent ones are missing rather than undefined. */
function present<T extends object>(base: T, extras: Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(extras)) if (value !== undefined) out[key] = value;
  return out as T;
}

const semantics = traitGrammar.extendSemantics(audienceSemantics).extendOperation('ast', {
  TraitDefinition(expression) {
    return ast<TraitAst>(expression);
  },
  TraitExpression(expression) {
    return ast<TraitAst>(expression);
  },
  CountDistinct(_count, _distinct, target, scope) {
    return { type: 'count_distinct', ...ast<EventProperty>(target), ...ast<Scope>(scope) };
  },
  CountEvents(_count, event, scope) {
    return { type: 'count', event: eventName(event), ...ast<Scope>(scope) };
  },
  Aggregate(fn, target, scope) {
    const name = fn.sourceString.toLowerCase() as AggregateFunction;
    const { event, property } = ast<EventProperty>(target);
    return { type: 'aggregate', fn: name, event, property, ...ast<Scope>(scope) };
  },
  Occurrence(which, target, scope) {
    const type = which.sourceString.toLowerCase() === 'first' ? 'first_value' : 'last_value';
    return { type, ...ast<EventProperty>(target), ...ast<Scope>(scope) };
  },
  MostFrequent(_most, _frequent, target, scope) {
    return { type: 'most_frequent', ...ast<EventProperty>(target), ...ast<Scope>(scope) };
  },
  DistinctValues(_distinct, target, scope) {
    return { type: 'distinct', ...ast<EventProperty>(target), ...ast<Scope>(scope) };
  },
  DaysSinceFirstSeen(_days, _since, _first, _seen) {
    return { type: 'days_since_first_seen' };
  },
  DaysSinceLast(_days, _since, _last, event, where) {
    return present({ type: 'days_since_last', event: eventName(event) }, { where: optional<PropertyFilter[]>(where) });
  },
  WeeksWith(_weeks, _with, event, _in, _last, count, _word, where) {
    const weeks = Number(count.sourceString);
    if (weeks < 1 || weeks > MAX_WEEKS) throw errorAt(count, `a number of weeks must be between 1 and ${MAX_WEEKS}`);
    return present(
      { type: 'weeks_with', event: eventName(event), weeks },
      { where: optional<PropertyFilter[]>(where) },
    );
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

/** Parses the text form of a computed trait definition; throws AudienceParseError. */
export function parseTrait(text: string): TraitAst {
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
  return ast<TraitAst>(semantics(match) as unknown as Node);
}
