import { Prisma } from '../../../generated/prisma/client';
import {
  CountClause,
  FirstLastPerformedCondition,
  NotPerformedCondition,
  PerformedCondition,
  PropertyFilter,
  assertUnreachable,
} from '../audience-ast';
import { CompileContext, EventAlias, alias, namedEventScope, windowTest } from './compile-context';
import { compileValueTest } from './value-tests';

/** Every filter of a `where` clause, against the properties of the event aliased `name`. */
export function compileFilters(
  name: EventAlias,
  filters: readonly PropertyFilter[] | undefined,
  ctx: CompileContext,
): Prisma.Sql {
  if (!filters || filters.length === 0) return Prisma.empty;
  const properties = Prisma.sql`${alias(name)}.properties`;
  return Prisma.sql` AND ${Prisma.join(
    filters.map((f) => compileValueTest(properties, f.path, f, ctx)),
    ' AND ',
  )}`;
}

/** The WHERE clause selecting the events a performed/not-performed condition counts, aliased `e`. */
function matchingEvents(
  node: PerformedCondition | NotPerformedCondition,
  ctx: CompileContext,
  perProfile = true,
): Prisma.Sql {
  const window = node.window
    ? Prisma.sql` AND ${windowTest(Prisma.sql`e.timestamp`, node.window, ctx, true)}`
    : Prisma.empty;
  return Prisma.sql`${namedEventScope('e', node.event, ctx, perProfile)}${window}${compileFilters('e', node.where, ctx)}`;
}

/**
 * Once: EXISTS, which Postgres turns into a semi-join for a whole audience and an index probe for
 * one profile. More than once, or exactly n: the profiles whose matching events, grouped, reach
 * the count; one pass over events(workspace_id, name, timestamp) for a whole audience, and for one
 * profile Postgres pushes `profile_id = …` into the grouped subquery. At most n includes profiles
 * without any such event, which a NOT IN over the grouped set would express but could not narrow
 * to one profile; a per-profile count that stops after n + 1 rows serves both cases.
 */
export function compilePerformed(node: PerformedCondition, ctx: CompileContext): Prisma.Sql {
  const count: CountClause = node.count ?? { op: 'at_least', value: 1 };
  const exists = Prisma.sql`EXISTS (SELECT 1 FROM events e WHERE ${matchingEvents(node, ctx)})`;
  const grouped = (having: Prisma.Sql): Prisma.Sql =>
    Prisma.sql`p.id IN (SELECT e.profile_id FROM events e WHERE ${matchingEvents(node, ctx, false)} GROUP BY e.profile_id HAVING ${having})`;
  switch (count.op) {
    case 'at_least':
      if (count.value === 0) return Prisma.sql`true`;
      if (count.value === 1) return exists;
      return grouped(Prisma.sql`count(*) >= ${count.value}`);
    case 'exactly':
      if (count.value === 0) return Prisma.sql`NOT ${exists}`;
      return grouped(Prisma.sql`count(*) = ${count.value}`);
    case 'at_most':
      if (count.value === 0) return Prisma.sql`NOT ${exists}`;
      return Prisma.sql`(SELECT count(*) FROM (SELECT 1 FROM events e WHERE ${matchingEvents(node, ctx)} LIMIT ${count.value + 1}) AS matching) <= ${count.value}`;
    default:
      return assertUnreachable(count.op);
  }
}

export function compileNotPerformed(node: NotPerformedCondition, ctx: CompileContext): Prisma.Sql {
  return Prisma.sql`NOT EXISTS (SELECT 1 FROM events e WHERE ${matchingEvents(node, ctx)})`;
}

/**
 * The earliest or latest matching event falls in the window: the profiles whose matching events,
 * grouped, have their min/max in it. One pass over events(workspace_id, name, timestamp) for a
 * whole audience, like counts above; a per-profile aggregate (EXISTS … HAVING) cannot be turned
 * into a join and ran once per profile, 4x slower than this at 100k profiles. For one profile
 * Postgres pushes `profile_id = …` into the grouped subquery.
 */
export function compileFirstLastPerformed(node: FirstLastPerformedCondition, ctx: CompileContext): Prisma.Sql {
  const at = node.type === 'first_performed' ? Prisma.sql`min(e.timestamp)` : Prisma.sql`max(e.timestamp)`;
  const where = Prisma.sql`${namedEventScope('e', node.event, ctx, false)}${compileFilters('e', node.where, ctx)}`;
  return Prisma.sql`p.id IN (SELECT e.profile_id FROM events e WHERE ${where} GROUP BY e.profile_id HAVING ${windowTest(at, node.window, ctx, true)})`;
}
