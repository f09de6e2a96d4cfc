import { Prisma } from '../../../generated/prisma/client';
import { assertUnreachable, DateLiteral, isDateLiteral, Literal, ValueTest } from '../audience-ast';
import { dateLiteralMillis, minusDuration } from '../audience-values';
import { CompileContext, instant } from './compile-context';

/**
 * Compiles a test on one JSON value (a trait or an event property) found at `path` in the jsonb
 * column `document` (a fixed expression such as p.traits). The path is bound as a text[]
 * parameter, so property names never become SQL identifiers. Every test is wrapped in IS TRUE: a
 * missing value makes the comparison NULL, and NULL must read as false, also under NOT.
 *
 * Value semantics (shared with the reference evaluator):
 * - a missing key and JSON null fail every test, including != and exists;
 * - the literal's type decides the comparison: a number compares numerically with JSON numbers and
 *   numeric strings ("42"); a string only with JSON strings (case-sensitive, code point order); a
 *   boolean only with JSON booleans; a date with strings in ISO 8601 form, as instants;
 * - a value of another type fails the test, whatever the operator.
 */
export function compileValueTest(
  document: Prisma.Sql,
  path: readonly string[],
  test: ValueTest,
  ctx: CompileContext,
): Prisma.Sql {
  const v = Prisma.sql`(${document} #> ${[...path]}::text[])`;
  return Prisma.sql`(${testSql(v, test, ctx)}) IS TRUE`;
}

const ORDERING = { lt: '<', lte: '<=', gt: '>', gte: '>=' } as const;

function testSql(v: Prisma.Sql, test: ValueTest, ctx: CompileContext): Prisma.Sql {
  switch (test.op) {
    case 'eq':
      return equals(v, test.value);
    case 'neq':
      return notEquals(v, test.value);
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      return ordering(v, Prisma.raw(ORDERING[test.op]), test.value);
    case 'contains':
      return Prisma.sql`jsonb_typeof(${v}) = 'string' AND strpos(${v} #>> '{}', ${test.value}) > 0`;
    case 'starts_with':
      return Prisma.sql`jsonb_typeof(${v}) = 'string' AND starts_with(${v} #>> '{}', ${test.value})`;
    case 'exists':
      return Prisma.sql`jsonb_typeof(${v}) <> 'null'`;
    case 'in':
      return inList(v, test.values);
    case 'within':
      return Prisma.sql`personae_json_instant(${v}) > ${instant(minusDuration(ctx.now, test.duration))} AND personae_json_instant(${v}) <= ${instant(ctx.now)}`;
    case 'before':
      return Prisma.sql`personae_json_instant(${v}) <= ${instant(minusDuration(ctx.now, test.duration))}`;
    default:
      return assertUnreachable(test);
  }
}

function dateValue(literal: DateLiteral): Prisma.Sql {
  return instant(dateLiteralMillis(literal));
}

function equals(v: Prisma.Sql, value: Literal): Prisma.Sql {
  if (typeof value === 'string') return Prisma.sql`${v} = to_jsonb(${value}::text)`;
  if (typeof value === 'boolean') return Prisma.sql`${v} = to_jsonb(${value}::boolean)`;
  if (typeof value === 'number') return Prisma.sql`personae_json_number(${v}) = ${value}::float8`;
  return Prisma.sql`personae_json_instant(${v}) = ${dateValue(value)}`;
}

function notEquals(v: Prisma.Sql, value: Literal): Prisma.Sql {
  if (typeof value === 'string') return Prisma.sql`jsonb_typeof(${v}) = 'string' AND ${v} <> to_jsonb(${value}::text)`;
  if (typeof value === 'boolean')
    return Prisma.sql`jsonb_typeof(${v}) = 'boolean' AND ${v} <> to_jsonb(${value}::boolean)`;
  if (typeof value === 'number') return Prisma.sql`personae_json_number(${v}) <> ${value}::float8`;
  return Prisma.sql`personae_json_instant(${v}) <> ${dateValue(value)}`;
}

function ordering(v: Prisma.Sql, operator: Prisma.Sql, value: string | number | DateLiteral): Prisma.Sql {
  if (typeof value === 'string') {
    // COLLATE "C" orders by code point whatever the database's locale, as the evaluator does.
    return Prisma.sql`jsonb_typeof(${v}) = 'string' AND (${v} #>> '{}') COLLATE "C" ${operator} ${value}`;
  }
  if (typeof value === 'number') return Prisma.sql`personae_json_number(${v}) ${operator} ${value}::float8`;
  return Prisma.sql`personae_json_instant(${v}) ${operator} ${dateValue(value)}`;
}

/** `in` is `=` against any element, grouped by type so each group is one `= ANY(array)`. */
function inList(v: Prisma.Sql, values: readonly Literal[]): Prisma.Sql {
  const strings = values.filter((x): x is string => typeof x === 'string');
  const numbers = values.filter((x): x is number => typeof x === 'number');
  const booleans = [...new Set(values.filter((x): x is boolean => typeof x === 'boolean'))];
  const dates = values.filter((x): x is DateLiteral => typeof x === 'object' && isDateLiteral(x));
  const parts: Prisma.Sql[] = [];
  if (strings.length > 0) {
    parts.push(Prisma.sql`(jsonb_typeof(${v}) = 'string' AND (${v} #>> '{}') = ANY(${strings}::text[]))`);
  }
  if (numbers.length > 0) parts.push(Prisma.sql`personae_json_number(${v}) = ANY(${numbers}::float8[])`);
  for (const b of booleans) parts.push(Prisma.sql`${v} = to_jsonb(${b}::boolean)`);
  if (dates.length > 0) {
    const instants = dates.map((d) => new Date(dateLiteralMillis(d)).toISOString());
    parts.push(Prisma.sql`personae_json_instant(${v}) = ANY(${instants}::timestamptz[])`);
  }
  return parts.length === 0 ? Prisma.sql`false` : Prisma.join(parts, ' OR ');
}
