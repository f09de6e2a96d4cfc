import { CompileContext } from '../../../audiences/language/audience-language';
import { Prisma } from '../../../generated/prisma/client';
import { AggregateTrait, CountDistinctTrait, CountTrait, DistinctTrait } from '../trait-ast';
import { CompiledTrait, hasValue, matchingEvents, propertyOf } from './trait-sql';

/**
 * Traits that aggregate the matching events of each profile in one GROUP BY over
 * events(workspace_id, name, timestamp, …): counts, numeric aggregates, distinct values.
 */

export function compileCount(ast: CountTrait, ctx: CompileContext): CompiledTrait {
  return {
    values: Prisma.sql`SELECT e.profile_id, to_jsonb(count(*)) AS value FROM events e WHERE ${matchingEvents(ast, ctx)} GROUP BY e.profile_id`,
    fallback: Prisma.sql`'0'::jsonb`,
  };
}

const AGGREGATES = { sum: 'sum', avg: 'avg', min: 'min', max: 'max' } as const;

/**
 * Over the property's numbers as audience value tests read them (personae_json_number: JSON
 * numbers and numeric strings); events without one do not count, and a profile with none has no
 * value (also for sum: "no orders" is not "orders worth 0").
 */
export function compileAggregate(ast: AggregateTrait, ctx: CompileContext): CompiledTrait {
  const fn = Prisma.raw(AGGREGATES[ast.fn]);
  const number = Prisma.sql`personae_json_number(${propertyOf(ast.property)})`;
  // Sums and averages in numeric: exact, so the result does not depend on the order the plan
  // reads rows in (float8 sums did, and every recomputation then "changed" values by 1e-13).
  const operand = ast.fn === 'sum' || ast.fn === 'avg' ? Prisma.sql`${number}::numeric` : number;
  return {
    values: Prisma.sql`SELECT e.profile_id, to_jsonb(${fn}(${operand})) AS value FROM events e WHERE ${matchingEvents(ast, ctx)} AND ${number} IS NOT NULL GROUP BY e.profile_id`,
    fallback: null,
  };
}

/** Distinct JSON values (jsonb equality: 1 and 1.0 are one value), null and missing excluded. */
export function compileCountDistinct(ast: CountDistinctTrait, ctx: CompileContext): CompiledTrait {
  const value = propertyOf(ast.property);
  return {
    values: Prisma.sql`SELECT e.profile_id, to_jsonb(count(DISTINCT ${value})) AS value FROM events e WHERE ${matchingEvents(ast, ctx)} AND ${hasValue(value)} GROUP BY e.profile_id`,
    fallback: Prisma.sql`'0'::jsonb`,
  };
}

/**
 * The list of distinct values, ordered by their JSON text in code point order (COLLATE "C", so the
 * order does not depend on the database's locale); no value when there are none.
 */
export function compileDistinct(ast: DistinctTrait, ctx: CompileContext): CompiledTrait {
  const value = propertyOf(ast.property);
  return {
    values: Prisma.sql`SELECT d.profile_id, jsonb_agg(d.v ORDER BY d.v::text COLLATE "C") AS value FROM (SELECT DISTINCT e.profile_id, ${value} AS v FROM events e WHERE ${matchingEvents(ast, ctx)} AND ${hasValue(value)}) d GROUP BY d.profile_id`,
    fallback: null,
  };
}
