import { Prisma } from '../../../generated/prisma/client';
import { ActiveCondition, InactiveCondition, SeenCondition } from '../audience-ast';
import { minusDuration } from '../audience-values';
import { CompileContext, eventScope, instant, windowTest } from './compile-context';

/**
 * Activity is any event of any type (track, page, screen, identify, group, alias): whatever the
 * profile's devices or servers sent. Served by events(workspace_id, profile_id, timestamp).
 */
export function compileActive(node: ActiveCondition, ctx: CompileContext): Prisma.Sql {
  return Prisma.sql`EXISTS (SELECT 1 FROM events e WHERE ${eventScope('e', ctx)} AND ${windowTest(Prisma.sql`e.timestamp`, node.window, ctx, true)})`;
}

/** No event of any type within the duration, i.e. the negation of `active within`. */
export function compileInactive(node: InactiveCondition, ctx: CompileContext): Prisma.Sql {
  return Prisma.sql`NOT EXISTS (SELECT 1 FROM events e WHERE ${eventScope('e', ctx)} AND e.timestamp > ${instant(minusDuration(ctx.now, node.duration))})`;
}

/**
 * First and last seen are facts about the profile, like traits: they read the profile's columns
 * and so ignore eventsSince (see GRAMMAR.md).
 */
export function compileSeen(node: SeenCondition, ctx: CompileContext): Prisma.Sql {
  const column = node.type === 'first_seen' ? Prisma.sql`p.first_seen_at` : Prisma.sql`p.last_seen_at`;
  return Prisma.sql`(${windowTest(column, node.window, ctx, false)})`;
}
