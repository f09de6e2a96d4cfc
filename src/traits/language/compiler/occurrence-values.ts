import { CompileContext } from '../../../audiences/language/audience-language';
import { Prisma } from '../../../generated/prisma/client';
import { MostFrequentTrait, OccurrenceTrait } from '../trait-ast';
import { CompiledTrait, hasValue, matchingEvents, propertyOf } from './trait-sql';

/** Traits that pick one value of a property among each profile's matching events. */

/**
 * The property at the earliest (first) or latest (last) matching event that has it; events at the
 * same instant are ordered by arrival (the events' id), so the answer is deterministic.
 */
export function compileOccurrence(ast: OccurrenceTrait, ctx: CompileContext): CompiledTrait {
  const value = propertyOf(ast.property);
  const order = ast.type === 'first_value' ? Prisma.sql`e.timestamp, e.id` : Prisma.sql`e.timestamp DESC, e.id DESC`;
  return {
    values: Prisma.sql`SELECT DISTINCT ON (e.profile_id) e.profile_id, ${value} AS value FROM events e WHERE ${matchingEvents(ast, ctx)} AND ${hasValue(value)} ORDER BY e.profile_id, ${order}`,
    fallback: null,
  };
}

/**
 * The value on most matching events; a tie goes to the value seen most recently, then to the
 * smaller JSON text in code point order.
 */
export function compileMostFrequent(ast: MostFrequentTrait, ctx: CompileContext): CompiledTrait {
  const value = propertyOf(ast.property);
  return {
    values: Prisma.sql`SELECT DISTINCT ON (g.profile_id) g.profile_id, g.v AS value FROM (SELECT e.profile_id, ${value} AS v, count(*) AS n, max(e.timestamp) AS latest FROM events e WHERE ${matchingEvents(ast, ctx)} AND ${hasValue(value)} GROUP BY 1, 2) g ORDER BY g.profile_id, g.n DESC, g.latest DESC, g.v::text COLLATE "C"`,
    fallback: null,
  };
}
