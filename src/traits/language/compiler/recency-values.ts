import { CompileContext, sqlInstant } from '../../../audiences/language/audience-language';
import { Prisma } from '../../../generated/prisma/client';
import { DaysSinceFirstSeenTrait, DaysSinceLastTrait, WeeksWithTrait } from '../trait-ast';
import { CompiledTrait, matchingEvents, wholeDaysSince } from './trait-sql';

/** Traits about when things happened; all of them move with `now`, so they are recomputed on schedule. */

const WEEK_MS = 7 * 86_400_000;
/** 1970-01-05 was a Monday: calendar weeks are counted from it. */
const A_MONDAY_MS = Date.UTC(1970, 0, 5);

/** Monday 00:00 UTC of the ISO week that holds `at`. */
export function weekStart(at: Date): Date {
  const sinceMonday = (((at.getTime() - A_MONDAY_MS) % WEEK_MS) + WEEK_MS) % WEEK_MS;
  return new Date(at.getTime() - sinceMonday);
}

/** Whole days since the latest matching event (0 on the day of it); no value without one. */
export function compileDaysSinceLast(ast: DaysSinceLastTrait, ctx: CompileContext): CompiledTrait {
  return {
    values: Prisma.sql`SELECT e.profile_id, ${wholeDaysSince(Prisma.sql`max(e.timestamp)`, sqlInstant(ctx.now))} AS value FROM events e WHERE ${matchingEvents(ast, ctx)} GROUP BY e.profile_id`,
    fallback: null,
  };
}

/** Whole days since the profile's first_seen_at: every live profile has a value. */
export function compileDaysSinceFirstSeen(_ast: DaysSinceFirstSeenTrait, ctx: CompileContext): CompiledTrait {
  return {
    values: Prisma.sql`SELECT f.id AS profile_id, ${wholeDaysSince(Prisma.sql`f.first_seen_at`, sqlInstant(ctx.now))} AS value FROM profiles f WHERE f.workspace_id = ${ctx.workspaceId}::uuid`,
    fallback: null,
  };
}

/**
 * The number of distinct calendar weeks, among the last `weeks` (the current one included), with
 * a matching event. Weeks are numbered from the first one of the range, computed here (pure), so
 * the SQL only divides.
 */
export function compileWeeksWith(ast: WeeksWithTrait, ctx: CompileContext): CompiledTrait {
  const from = new Date(weekStart(ctx.now).getTime() - (ast.weeks - 1) * WEEK_MS);
  const start = sqlInstant(from);
  return {
    values: Prisma.sql`SELECT e.profile_id, to_jsonb(count(DISTINCT floor(extract(epoch FROM (e.timestamp - ${start})) / 604800))) AS value FROM events e WHERE ${matchingEvents(ast, ctx)} AND e.timestamp >= ${start} GROUP BY e.profile_id`,
    fallback: Prisma.sql`'0'::jsonb`,
  };
}
