import { Prisma } from '../../../generated/prisma/client';
import { SequenceCondition, SequenceStep, durationSeconds } from '../audience-ast';
import { minusDuration } from '../audience-values';
import { CompileContext, EventAlias, SEQUENCE_ALIASES, alias, instant, namedEventScope } from './compile-context';
import { compileFilters } from './event-conditions';

/**
 * Ordered steps as nested EXISTS, one events alias per step: step j is an event strictly after the
 * event chosen for step j - 1 and, with a conversion window w, at most w after the first step's
 * event. Each level is an index range scan on events(workspace_id, profile_id, name, timestamp)
 * bounded by the previous step's timestamp.
 *
 * A drop-off (`then not performed X`) is a NOT EXISTS at the innermost level: no X after the last
 * positive step and no later than first + w. With a window, the first step must be at least w old,
 * so people still inside their window do not count as dropped off yet.
 */
export function compileSequence(node: SequenceCondition, ctx: CompileContext): Prisma.Sql {
  const steps = node.notFollowedBy ? [...node.steps, node.notFollowedBy] : node.steps;
  const aliases = steps.map((_, i) => {
    const name = SEQUENCE_ALIASES[i];
    if (!name) throw new Error(`A sequence has at most ${SEQUENCE_ALIASES.length} steps`);
    return name;
  });
  const deadline = node.conversionWindow
    ? Prisma.sql`${alias('e1')}.timestamp + make_interval(secs => ${durationSeconds(node.conversionWindow)})`
    : undefined;

  let inner: Prisma.Sql = Prisma.empty;
  for (let i = steps.length - 1; i >= 1; i--) {
    const step = steps[i] as SequenceStep;
    const current = aliases[i] as EventAlias;
    const previous = aliases[i - 1] as EventAlias;
    const e = alias(current);
    const within = deadline ? Prisma.sql` AND ${e}.timestamp <= ${deadline}` : Prisma.empty;
    // Correlated with the first step's profile, not with p: a subquery that only refers to its
    // parent lets Postgres plan the drop-off as an anti-join inside the semi-join on e1.
    const where = Prisma.sql`${namedEventScope(current, step.event, ctx, false)} AND ${e}.profile_id = e1.profile_id${compileFilters(current, step.where, ctx)} AND ${e}.timestamp > ${alias(previous)}.timestamp${within}${inner}`;
    const negated = node.notFollowedBy !== undefined && i === steps.length - 1;
    inner = Prisma.sql` AND ${negated ? Prisma.sql`NOT EXISTS` : Prisma.sql`EXISTS`} (SELECT 1 FROM events ${e} WHERE ${where})`;
  }

  const first = steps[0] as SequenceStep;
  const elapsed =
    node.notFollowedBy && node.conversionWindow
      ? Prisma.sql` AND e1.timestamp <= ${instant(minusDuration(ctx.now, node.conversionWindow))}`
      : Prisma.empty;
  return Prisma.sql`EXISTS (SELECT 1 FROM events e1 WHERE ${namedEventScope('e1', first.event, ctx)}${compileFilters('e1', first.where, ctx)}${elapsed}${inner})`;
}
