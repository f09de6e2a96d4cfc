import { Prisma } from '../../../generated/prisma/client';
import { assertUnreachable, TimeWindow } from '../audience-ast';
import { dateLiteralMillis, minusDuration } from '../audience-values';

/** What a definition is compiled against. */
export interface CompileContext {
  workspaceId: string;
  /** The instant the audience is computed at; bound as a parameter, never SQL now(). */
  now: Date;
  /** With includeHistoricalData false: event conditions only see events at or after this instant. */
  eventsSince?: Date | null;
  /**
   * The predicate evaluates a real-time batch: the statement shadows `events` with a materialized
   * set of the batch's profiles' events (a few thousand rows, without indexes), so every event
   * condition is written as a set of profiles read once from it, never as a probe per profile.
   */
  batch?: boolean;
  /**
   * With `batch`: audiences (by key) evaluated by the same statement in an earlier stage. For a
   * profile of the batch, membership after the statement is exactly "in that audience's target
   * set", which stage n holds in the relation `target_<n>`; `in audience` reads it there.
   */
  batchTargets?: ReadonlyMap<string, BatchTarget>;
}

/** Where a batch statement holds an audience's target set (see CompileContext.batchTargets). */
export interface BatchTarget {
  audienceId: string;
  /** The statement's stage: its target set is the relation `target_<stage>`. */
  stage: number;
}

/** The relation of a batch statement's stage: a fixed name with an integer, never from a definition. */
export function batchTargetRelation(stage: number): Prisma.Sql {
  if (!Number.isSafeInteger(stage) || stage < 0) throw new Error(`a batch stage is a whole number, got ${stage}`);
  return Prisma.raw(`target_${stage}`);
}

/**
 * Table aliases the compiler introduces. SQL identifiers never come from the definition; these
 * fixed names are the only ones spliced into the text.
 */
export type EventAlias = 'e';

export function alias(name: EventAlias): Prisma.Sql {
  return Prisma.raw(name);
}

export function instant(at: Date | number): Prisma.Sql {
  return Prisma.sql`${new Date(at).toISOString()}::timestamptz`;
}

/**
 * The events a profile has as of `now`: none stamped after `now` (they have not happened yet as
 * far as this computation is concerned), and none before `eventsSince` when set. Matches the
 * leading columns of events(workspace_id, profile_id, timestamp) with an `owner` (the profile the
 * events must belong to) and of events(workspace_id, name, timestamp, …) without one.
 */
export function eventScope(name: EventAlias, ctx: CompileContext, owner?: Prisma.Sql): Prisma.Sql {
  const e = alias(name);
  const profile = owner ? Prisma.sql` AND ${e}.profile_id = ${owner}` : Prisma.empty;
  const since = ctx.eventsSince ? Prisma.sql` AND ${e}.timestamp >= ${instant(ctx.eventsSince)}` : Prisma.empty;
  return Prisma.sql`${e}.workspace_id = ${ctx.workspaceId}::uuid${profile} AND ${e}.timestamp <= ${instant(ctx.now)}${since}`;
}

/** Track events with this name, in scope, of every profile of the workspace. */
export function namedEventScope(name: EventAlias, event: string, ctx: CompileContext): Prisma.Sql {
  const e = alias(name);
  return Prisma.sql`${eventScope(name, ctx)} AND ${e}.type = 'track' AND ${e}.name = ${event}`;
}

/**
 * "The profile is in this set of profile ids", for a set computed from events once for the whole
 * statement. Conditions on named events are written this way, whatever they are combined with,
 * because it is the one form whose cost does not depend on the planner's statistics:
 *
 * - `IS TRUE` keeps Postgres from turning the test into a join with the profiles (it only does so
 *   for a bare IN at the top of a WHERE clause). As a join, a never-ANALYZEd database, where every
 *   estimate is about one row, gets a nested loop that rescans the whole set once per profile
 *   with the per-profile key unbound: `never performed "Tutorial Viewed"` ran for minutes on 100k
 *   profiles / 1M events where it takes 0.2 s with statistics.
 * - Not being a join, the test is a hashed subplan: the set is computed once (one index range scan
 *   of events(workspace_id, name, timestamp, profile_id, type)) and every profile is one hash probe.
 *   A correlated per-profile probe would be the alternative, and without statistics Postgres serves
 *   it from that same name index with the profile id as a filter, reading all of the workspace's
 *   events of that name for every profile.
 * - GROUP BY keeps the estimated size of the set to the number of profiles rather than of events:
 *   Postgres hashes a subplan only if its estimate fits in hash_mem (see audience query settings in
 *   src/database), and otherwise searches it linearly for every profile.
 *
 * For a few profiles (real-time evaluation), `events` is restricted to those profiles' events by
 * the caller, so the set is small there too.
 */
export function profileIn(set: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`(p.id IN (${set})) IS TRUE`;
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
