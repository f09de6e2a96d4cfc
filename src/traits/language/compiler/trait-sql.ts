import {
  CompileContext,
  compilePropertyFilters,
  namedEventScope,
  PropertyFilter,
  TimeWindow,
  windowTest,
} from '../../../audiences/language/audience-language';
import { Prisma } from '../../../generated/prisma/client';

/**
 * What a trait compiles to: `values`, a query of rows (profile_id uuid, value jsonb), at most one
 * per profile and only where the profile has a value, and `fallback`, the value of every other
 * live profile (0 for counts), or null when those have no value. The query reads the table
 * `events` by that name, so a real-time evaluation can shadow it with a batch's events (see
 * TraitValuesRepository), as audience evaluation does.
 */
export interface CompiledTrait {
  values: Prisma.Sql;
  fallback: Prisma.Sql | null;
}

/**
 * The matching events of a trait, aliased `e`: track events of that name as of `now` (none stamped
 * later), in the window, passing every filter, with the audience language's meaning of each.
 */
export function matchingEvents(
  scope: { event: string; window?: TimeWindow; where?: PropertyFilter[] },
  ctx: CompileContext,
): Prisma.Sql {
  const window = scope.window
    ? Prisma.sql` AND ${windowTest(Prisma.sql`e.timestamp`, scope.window, ctx, true)}`
    : Prisma.empty;
  const filters = scope.where
    ? Prisma.sql` AND ${compilePropertyFilters(Prisma.sql`e.properties`, scope.where, ctx)}`
    : Prisma.empty;
  return Prisma.sql`${namedEventScope('e', scope.event, ctx)}${window}${filters}`;
}

/** The JSON value at `path` in the event's properties (SQL NULL when missing). */
export function propertyOf(path: readonly string[]): Prisma.Sql {
  return Prisma.sql`(e.properties #> ${[...path]}::text[])`;
}

/** The property is present and not JSON null. */
export function hasValue(value: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`jsonb_typeof(${value}) <> 'null'`;
}

/** Whole days from `at` to `now`, rounded down, as a JSON number. */
export function wholeDaysSince(at: Prisma.Sql, now: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`to_jsonb(floor(extract(epoch FROM (${now} - ${at})) / 86400)::bigint)`;
}
