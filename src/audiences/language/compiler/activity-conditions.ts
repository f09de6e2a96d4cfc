import { Prisma } from '../../../generated/prisma/client';
import { ActiveCondition, assertUnreachable, InactiveCondition, SeenCondition, TimeWindow } from '../audience-ast';
import { dateLiteralMillis, minusDuration } from '../audience-values';
import { CompileContext, eventScope, instant, profileIn, windowTest } from './compile-context';

/**
 * Activity is any event of any type (track, page, screen, identify, group, alias): whatever the
 * profile's devices or servers sent. Served by events(workspace_id, profile_id, timestamp), one
 * probe per profile.
 *
 * The profile row narrows it down first. Ingest keeps `first_seen_at <= timestamp <= last_seen_at`
 * for every event a profile owns (a merge takes the min and max of the profiles involved), so only
 * a profile seen after `t` can have an event after `t`, and only one first seen at or before `t`
 * can have one at or before `t`. That stays true whatever eventsSince hides (it only removes
 * events) and for events stamped after now, which are never in a window. GRAMMAR.md states the
 * invariant; data written around ingest must keep it.
 *
 * `OFFSET 0` keeps each probe a subplan run per profile with the profile's id bound, instead of a
 * join Postgres plans from statistics: on a never-ANALYZEd database it estimates the events of the
 * workspace at a few rows and may scan them all for every profile (a nested loop whose inner side
 * is not keyed by the profile). No other index can serve a probe that names no event, so the
 * probe is always a range scan of the profile's own events.
 */
function probe(test: 'EXISTS' | 'NOT EXISTS', where: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`${Prisma.raw(test)} (SELECT 1 FROM events e WHERE ${where} OFFSET 0)`;
}

/**
 * A real-time batch (ctx.batch): the profiles with an event passing `where`, as one hashed set read
 * from the batch's own events. A probe per profile would scan that unindexed set once per profile.
 */
function profilesWithEvents(where: Prisma.Sql): Prisma.Sql {
  return profileIn(Prisma.sql`SELECT e.profile_id FROM events e WHERE ${where}`);
}

export function compileActive(node: ActiveCondition, ctx: CompileContext): Prisma.Sql {
  if (ctx.batch) {
    const events = Prisma.sql`${eventScope('e', ctx)} AND ${windowTest(Prisma.sql`e.timestamp`, node.window, ctx, true)}`;
    return Prisma.sql`(${seenAround(node.window, ctx)} AND ${profilesWithEvents(events)})`;
  }
  // A restriction on p: profiles not seen in the window are not probed at all, e.g. 1M probes
  // become the ~26% seen in the last week.
  const events = Prisma.sql`${eventScope('e', ctx, Prisma.sql`p.id`)} AND ${windowTest(Prisma.sql`e.timestamp`, node.window, ctx, true)}`;
  return Prisma.sql`(${seenAround(node.window, ctx)} AND ${probe('EXISTS', events)})`;
}

/**
 * No event of any type within the duration, i.e. the negation of `active within`. A profile last
 * seen at or before the cutoff is inactive without reading events, and the SQL says so by
 * correlating on `CASE WHEN p.last_seen_at > cutoff THEN p.id END`, which is NULL for it: a btree
 * scan with a NULL `=` key is known to match nothing and returns without reading the index, so
 * the probes of events(workspace_id, profile_id, timestamp) only happen for profiles seen since
 * the cutoff (at 1M profiles / 10M events, ~290k probes instead of ~770k). Measured worse:
 * `last_seen_at <= cutoff OR NOT EXISTS (…)` (6 s against 2.8 s), and `p.last_seen_at > cutoff`
 * inside the subquery (3.5 s).
 */
export function compileInactive(node: InactiveCondition, ctx: CompileContext): Prisma.Sql {
  const cutoff = instant(minusDuration(ctx.now, node.duration));
  if (ctx.batch)
    return Prisma.sql`NOT (${profilesWithEvents(Prisma.sql`${eventScope('e', ctx)} AND e.timestamp > ${cutoff}`)})`;
  const seenSince = Prisma.sql`CASE WHEN p.last_seen_at > ${cutoff} THEN p.id END`;
  return probe('NOT EXISTS', Prisma.sql`${eventScope('e', ctx, seenSince)} AND e.timestamp > ${cutoff}`);
}

/** What the profile's first/last seen must satisfy for it to own an event in the window. */
function seenAround(window: TimeWindow, ctx: CompileContext): Prisma.Sql {
  switch (window.kind) {
    case 'within':
      return Prisma.sql`p.last_seen_at > ${instant(minusDuration(ctx.now, window.duration))}`;
    case 'before':
      return Prisma.sql`p.first_seen_at <= ${instant(minusDuration(ctx.now, window.duration))}`;
    case 'between':
      return Prisma.sql`p.last_seen_at >= ${instant(dateLiteralMillis({ date: window.from }))} AND p.first_seen_at < ${instant(dateLiteralMillis({ date: window.to }))}`;
    default:
      return assertUnreachable(window);
  }
}

/**
 * First and last seen are facts about the profile, like traits: they read the profile's columns
 * and so ignore eventsSince (see GRAMMAR.md).
 */
export function compileSeen(node: SeenCondition, ctx: CompileContext): Prisma.Sql {
  const column = node.type === 'first_seen' ? Prisma.sql`p.first_seen_at` : Prisma.sql`p.last_seen_at`;
  return Prisma.sql`(${windowTest(column, node.window, ctx, false)})`;
}
