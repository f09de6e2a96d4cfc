import {
  printPath,
  printWhere,
  printWindow,
  PropertyFilter,
  quote,
  TimeWindow,
} from '../../audiences/language/audience-language';
import { TraitAst } from './trait-ast';

/**
 * Prints a trait AST in the text form; parseTrait(printTrait(ast)) deep-equals ast for every
 * valid AST. Windows come before filters, as in audience definitions.
 */
export function printTrait(ast: TraitAst, byMembers = false): string {
  // An account trait over its members' events says so right after the event (and property).
  const by = byMembers ? 'by members' : undefined;
  switch (ast.type) {
    case 'count':
      return join('count', quote(ast.event), by, scope(ast));
    case 'aggregate':
      return join(ast.fn, target(ast.event, ast.property), by, scope(ast));
    case 'first_value':
    case 'last_value':
      return join(ast.type === 'first_value' ? 'first' : 'last', target(ast.event, ast.property), by, scope(ast));
    case 'most_frequent':
      return join('most frequent', target(ast.event, ast.property), by, scope(ast));
    case 'distinct':
      return join('distinct', target(ast.event, ast.property), by, scope(ast));
    case 'count_distinct':
      return join('count distinct', target(ast.event, ast.property), by, scope(ast));
    case 'days_since_last':
      return join('days since last', quote(ast.event), by, ast.where && printWhere(ast.where));
    case 'days_since_first_seen':
      return 'days since first seen';
    case 'weeks_with':
      return join(
        'weeks with',
        quote(ast.event),
        by,
        `in last ${ast.weeks} ${ast.weeks === 1 ? 'week' : 'weeks'}`,
        ast.where && printWhere(ast.where),
      );
  }
}

function target(event: string, property: readonly string[]): string {
  return `${quote(event)}.${printPath(property)}`;
}

function scope(s: { window?: TimeWindow; where?: PropertyFilter[] }): string | undefined {
  return join(s.window && printWindow(s.window), s.where && printWhere(s.where)) || undefined;
}

function join(...parts: (string | undefined)[]): string {
  return parts.filter((p) => p !== undefined).join(' ');
}
