import { Prisma } from '../../../generated/prisma/client';
import { durationSeconds, SequenceCondition, SequenceStep } from '../audience-ast';
import { minusDuration } from '../audience-values';
import { CompileContext, eventScope, instant, profileIn } from './compile-context';
import { compileFilters } from './event-conditions';

/**
 * Sequences in one pass over the profiles' events, whatever the statistics say and in time linear
 * in a profile's events: no join and no per-event probe, so no plan can multiply one profile's
 * events by another's (nested EXISTS per step did: profiles × events² without statistics, and
 * backtracking per step with them).
 *
 * The events of every step's name (and of the drop-off event) are read once from
 * events(workspace_id, name, timestamp, …), sorted by profile and time, and flagged per step
 * (`m1`…`mN`, `mx`: the event matches step k, name and filters). Window functions then compute,
 * level by level, facts that only look back or forward in time; each is a running min or max over
 * a frame that only grows, so every level is one linear pass:
 *
 * - completion `cK` (levels N down to 2): the earliest instant steps K…N can be completed using
 *   events strictly after this one = the least c(K+1) of the step-K events strictly after it
 *   (the earliest step-K event after an instant leads to the earliest completion, and completion
 *   only moves later with a later start). Greedy completion is optimal: a chain exists after an
 *   instant iff the greedy one does, and no chain ends earlier.
 * - a chain starting at step-1 event `f` exists iff c2(f) is not null; within a conversion window
 *   w iff c2(f) <= f + w (every step of it is then before the deadline too).
 *
 * A drop-off (`then not performed X`) holds when some chain's last positive step `r` is not
 * followed by X before the deadline (f + w, or ever without a window), and with a window the
 * first step is at least w old. For a start `f`, the best `r` is the latest last-step event before
 * the deadline (the next X after it is latest), and steps 2…N-1 are best completed greedily:
 *
 * - without a window only the earliest start and the latest last step matter: one GROUP BY;
 * - with one step: the next X strictly after f (a running min looking forward) is after f + w;
 * - with more steps: for each eligible start f, the last step and the last X at or before f + w.
 *   "At or before f + w" is not a time any event is at, so each start adds a marker row at
 *   f + w carrying its completion of steps 2…N-1; a running max over the time-ordered rows gives
 *   the marker the latest last-step event and the latest X up to it.
 */
export function compileSequence(node: SequenceCondition, ctx: CompileContext): Prisma.Sql {
  const window = node.conversionWindow;
  const n = node.steps.length;
  const last = flag(n);
  const elapsed = window && node.notFollowedBy ? instant(minusDuration(ctx.now, window)) : undefined;
  const rows = candidateEvents(node, ctx, elapsed);
  const set = (body: Prisma.Sql, chain?: Prisma.Sql) => {
    const ctes = [...rows.ctes, ...(chain ? [Prisma.sql`chain AS (${chain})`] : [])];
    return profileIn(ctes.length > 0 ? Prisma.sql`WITH ${Prisma.join(ctes, ', ')} ${body}` : body);
  };
  if (!window) {
    // Only the earliest chain matters: levels that keep, per profile, the events after the
    // earliest event of each step in turn (a profile that misses a step drops out).
    const reached = reachedLevels(rows.select, n - 1, n, node.notFollowedBy ? ['mx'] : []);
    const afterChain = n >= 2 ? [Prisma.sql`s.t > s.${reachedAt(n - 1)}`] : [];
    if (!node.notFollowedBy) {
      const where = Prisma.join([...afterChain, Prisma.sql`s.${last}`], ' AND ');
      return set(Prisma.sql`SELECT s.profile FROM (${reached}) s WHERE ${where} GROUP BY s.profile`);
    }
    // The latest last-step event after the chain, and no drop-off event after it.
    const where = afterChain.length > 0 ? Prisma.sql` WHERE ${Prisma.join(afterChain, ' AND ')}` : Prisma.empty;
    return set(Prisma.sql`SELECT s.profile FROM (${reached}) s${where} GROUP BY s.profile
      HAVING max(s.t) FILTER (WHERE s.${last}) >= coalesce(max(s.t) FILTER (WHERE s.mx), '-infinity')`);
  }
  const w = interval(durationSeconds(window));
  if (!elapsed) {
    // c2 at each step-1 event: the earliest completion of the rest of the chain after it.
    const completed = completionLevels(rows.select, 2, n, { flags: [], columns: [] });
    return set(Prisma.sql`SELECT s.profile FROM (${completed}) s WHERE s.m1 AND s.c2 <= s.t + ${w} GROUP BY s.profile`);
  }
  if (n === 1) {
    const nextX = Prisma.sql`min(s.t) FILTER (WHERE s.mx) ${AFTER}`;
    return set(Prisma.sql`SELECT s.profile FROM (SELECT s.*, ${nextX} AS nx FROM (${rows.select}) s) s
      WHERE s.m1 AND s.t <= ${elapsed} AND (s.nx IS NULL OR s.nx > s.t + ${w}) GROUP BY s.profile`);
  }
  // g: when steps 2…N-1 are done at the earliest after a step-1 event (the event itself if N = 2).
  const g = Prisma.raw(n >= 3 ? 'c.c2' : 'c.t');
  const chain = completionLevels(rows.select, 2, n - 1, { flags: [n], columns: ['mx'] });
  return set(
    Prisma.sql`SELECT s.profile FROM (
      SELECT s.*, max(s.t) FILTER (WHERE s.last_step) ${UP_TO} AS last_at, max(s.t) FILTER (WHERE s.mx) ${UP_TO} AS last_x
      FROM (
        SELECT c.profile, c.t, c.${last} AS last_step, c.mx, NULL::timestamptz AS g FROM chain c WHERE c.${last} OR c.mx
        UNION ALL
        SELECT c.profile, c.t + ${w}, false, false, ${g} FROM chain c WHERE c.m1 AND c.t <= ${elapsed}
      ) s
    ) s
    WHERE s.g IS NOT NULL AND s.last_at > s.g AND (s.last_x IS NULL OR s.last_x <= s.last_at)
    GROUP BY s.profile`,
    chain,
  );
}

/** Strictly later events of the same profile, as a frame that grows row by row (rows run latest first). */
const AFTER = Prisma.raw(
  "OVER (PARTITION BY s.profile ORDER BY s.t DESC RANGE BETWEEN UNBOUNDED PRECEDING AND '1 microsecond'::interval PRECEDING)",
);
/** Events of the same profile up to this instant, same-instant ones included. */
const UP_TO = Prisma.raw(
  'OVER (PARTITION BY s.profile ORDER BY s.t RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)',
);

/** `m1`…`m10`: fixed names, never from the definition. */
function flag(step: number): Prisma.Sql {
  return Prisma.raw(`m${step}`);
}

function completion(step: number): Prisma.Sql {
  return Prisma.raw(`c${step}`);
}

function reachedAt(step: number): Prisma.Sql {
  return Prisma.raw(`at${step}`);
}

function interval(seconds: number): Prisma.Sql {
  return Prisma.sql`make_interval(secs => ${seconds})`;
}

/**
 * One row per event of any step's name (or the drop-off's), in scope, with a flag per step: the
 * event matches that step (name and filters); an event may match several steps. `ctes` go in a
 * WITH; `select` reads the rows.
 *
 * For three steps or more, only profiles that have an event of every step (a step-1 event old
 * enough, for a drop-off with a window) can match, so the others' rows are dropped before any
 * sorting: one more scan of the same index range and a hash aggregate, which for a long sequence
 * leaves a small part of the rows (a 10-step journey: 0.74 s instead of 0.96 s at 1M events).
 * With one or two steps it costs more than it saves.
 */
function candidateEvents(
  node: SequenceCondition,
  ctx: CompileContext,
  elapsed: Prisma.Sql | undefined,
): { ctes: Prisma.Sql[]; select: Prisma.Sql } {
  const matches = (step: SequenceStep) => Prisma.sql`(e.name = ${step.event}${compileFilters('e', step.where, ctx)})`;
  const flags = node.steps.map((step, i) => Prisma.sql`${matches(step)} AS ${flag(i + 1)}`);
  if (node.notFollowedBy) flags.push(Prisma.sql`${matches(node.notFollowedBy)} AS mx`);
  const names = [...new Set([...node.steps, ...(node.notFollowedBy ? [node.notFollowedBy] : [])].map((s) => s.event))];
  const events = Prisma.sql`FROM events e WHERE ${eventScope('e', ctx)} AND e.type = 'track' AND e.name = ANY(${names}::text[])`;
  const select = Prisma.sql`SELECT e.profile_id AS profile, e.timestamp AS t, ${Prisma.join(flags, ', ')} ${events}`;
  if (node.steps.length < 3) return { ctes: [], select };
  const required = node.steps.map((step, i) =>
    i === 0 && elapsed
      ? Prisma.sql`bool_or(${matches(step)} AND e.timestamp <= ${elapsed})`
      : Prisma.sql`bool_or(${matches(step)})`,
  );
  return {
    ctes: [
      Prisma.sql`candidates AS (SELECT e.profile_id AS profile ${events} GROUP BY e.profile_id HAVING ${Prisma.join(required, ' AND ')})`,
    ],
    // IS TRUE: a hashed set, not a join planned from statistics (see profileIn).
    select: Prisma.sql`${select} AND (e.profile_id IN (SELECT c.profile FROM candidates c)) IS TRUE`,
  };
}

/** The columns a level passes on: profile, time, the given flags and extra columns. */
function carry(flags: readonly number[], extra: readonly string[]): Prisma.Sql {
  return Prisma.raw(['s.profile', 's.t', ...flags.map((k) => `s.m${k}`), ...extra.map((c) => `s.${c}`)].join(', '));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/**
 * Adds c(last)…c(first) to `rows`, one window level each: cK = the earliest completion of steps
 * K…last strictly after the row. Each level passes on only what later levels and the caller
 * read (`keep`: flags of steps after `last` and columns such as mx). Nothing to add when
 * first > last.
 */
function completionLevels(
  rows: Prisma.Sql,
  first: number,
  last: number,
  keep: { flags: readonly number[]; columns: readonly string[] },
): Prisma.Sql {
  let query = rows;
  for (let k = last; k >= first; k--) {
    const after = k === last ? Prisma.sql`s.t` : Prisma.sql`s.${completion(k + 1)}`;
    const carried = carry([...range(1, k - 1), ...keep.flags], keep.columns);
    query = Prisma.sql`SELECT ${carried}, min(${after}) FILTER (WHERE s.${flag(k)}) ${AFTER} AS ${completion(k)} FROM (${query}) s`;
  }
  return query;
}

/**
 * Adds at(last) to `rows` through one level per step 1…last over a profile's remaining events:
 * atK = the earliest step-K event after at(K-1); each level keeps only the events after at(K-1)
 * (a profile that misses a step has no rows left, and later levels read fewer rows) and passes on
 * only the flags of later steps and `columns`.
 */
function reachedLevels(rows: Prisma.Sql, last: number, steps: number, columns: readonly string[]): Prisma.Sql {
  let query = rows;
  for (let k = 1; k <= last; k++) {
    const after = k === 1 ? Prisma.empty : Prisma.sql` WHERE s.t > s.${reachedAt(k - 1)}`;
    const carried = carry(range(k + 1, steps), columns);
    query = Prisma.sql`SELECT ${carried}, min(s.t) FILTER (WHERE s.${flag(k)}) OVER (PARTITION BY s.profile) AS ${reachedAt(k)} FROM (${query}) s${after}`;
  }
  return query;
}
