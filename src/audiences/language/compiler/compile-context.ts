import { Prisma } from '../../../generated/prisma/client';
import { TimeWindow, assertUnreachable } from '../audience-ast';
import { dateLiteralMillis, minusDuration } from '../audience-values';

/** What a definition is compiled against. */
export interface CompileContext {
  workspaceId: string;
  /** The instant the audience is computed at; bound as a parameter, never SQL now(). */
  now: Date;
  /** With includeHistoricalData false: event conditions only see events at or after this instant. */
  eventsSince?: Date | null;
}

/**
 * Table aliases the compiler introduces. SQL identifiers never come from the definition; these
 * fixed names are the only ones spliced into the text.
 */
export type EventAlias = 'e' | 'e1' | 'e2' | 'e3' | 'e4' | 'e5' | 'e6' | 'e7' | 'e8' | 'e9' | 'e10' | 'e11';
export const SEQUENCE_ALIASES: readonly EventAlias[] = [
  'e1',
  'e2',
  'e3',
  'e4',
  'e5',
  'e6',
  'e7',
  'e8',
  'e9',
  'e10',
  'e11',
];

export function alias(name: EventAlias): Prisma.Sql {
  return Prisma.raw(name);
}

export function instant(at: Date | number): Prisma.Sql {
  return Prisma.sql`${new Date(at).toISOString()}::timestamptz`;
}

/**
 * The events a profile has as of `now`: its own, none stamped after `now` (they have not happened
 * yet as far as this computation is concerned), and none before `eventsSince` when set. Matches the
 * leading columns of events(workspace_id, profile_id, timestamp) and (…, name, timestamp).
 * `perProfile: false` leaves out the correlation with p, for subqueries grouped by profile; an
 * expression correlates with it instead of p.id.
 */
export function eventScope(name: EventAlias, ctx: CompileContext, perProfile: boolean | Prisma.Sql = true): Prisma.Sql {
  const e = alias(name);
  const owner = perProfile === true ? Prisma.sql`p.id` : perProfile;
  const profile = owner === false ? Prisma.empty : Prisma.sql` AND ${e}.profile_id = ${owner}`;
  const since = ctx.eventsSince ? Prisma.sql` AND ${e}.timestamp >= ${instant(ctx.eventsSince)}` : Prisma.empty;
  return Prisma.sql`${e}.workspace_id = ${ctx.workspaceId}::uuid${profile} AND ${e}.timestamp <= ${instant(ctx.now)}${since}`;
}

/** Track events with this name, in scope. */
export function namedEventScope(name: EventAlias, event: string, ctx: CompileContext, perProfile = true): Prisma.Sql {
  const e = alias(name);
  return Prisma.sql`${eventScope(name, ctx, perProfile)} AND ${e}.type = 'track' AND ${e}.name = ${event}`;
}

/**
 * `at` falls in the window: within d = (now - d, now], before d = (-inf, now - d],
 * between a and b = [a, b). `boundedByNow` says the caller already guarantees at <= now (event
 * scope does), which keeps that comparison out of the SQL.
 */
export function windowTest(at: Prisma.Sql, window: TimeWindow, ctx: CompileContext, boundedByNow: boolean): Prisma.Sql {
  switch (window.kind) {
    case 'within': {
      const lower = Prisma.sql`${at} > ${instant(minusDuration(ctx.now, window.duration))}`;
      return boundedByNow ? lower : Prisma.sql`${lower} AND ${at} <= ${instant(ctx.now)}`;
    }
    case 'before':
      return Prisma.sql`${at} <= ${instant(minusDuration(ctx.now, window.duration))}`;
    case 'between':
      return Prisma.sql`${at} >= ${instant(dateLiteralMillis({ date: window.from }))} AND ${at} < ${instant(dateLiteralMillis({ date: window.to }))}`;
    default:
      return assertUnreachable(window);
  }
}
