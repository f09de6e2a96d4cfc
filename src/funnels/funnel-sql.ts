/**
 * The funnel report of one period as one SQL statement (pure: spec in, Prisma.Sql out). Semantics
 * are in docs/funnels.md and test/oracles/funnel-reference.ts; here is how the SQL gets there.
 *
 * Step filters compile with the audience language's compilePropertyFilters, so a filter means
 * exactly what it means in an audience. Every step looks at track events of the workspace stamped at or before
 * `now`; merged-away profiles own no events and are left out at the entry.
 *
 * 1. `l1`: each live profile's entry, its first step-1 event in [from, to) (ties by event id),
 *    with the breakdown value: one range scan of events(workspace_id, name, timestamp).
 * 2. `l2 … lN`: greedy, one level per step: the earliest step-k event strictly after the step k-1
 *    event and at most `window` after the entry, probed per person still in the funnel on
 *    events(workspace_id, profile_id, name, timestamp), so a narrowing funnel reads fewer events
 *    at each step. Earliest is optimal: any later choice leaves fewer events for the steps after
 *    it. In strict mode the step counts only when that event is also the earliest funnel-step
 *    event of any kind after the previous step (events at the same instant are not between).
 *    The levels only carry (profile, entry time, step time); nothing is loaded into Node.
 * 3. One aggregate over the people: counts and percentile_cont of the seconds between steps, for
 *    everyone and, with a breakdown, per bucket (top N values by step-1 count, "other", "(none)")
 *    in one GROUPING SETS pass.
 */
import { CompileContext, compilePropertyFilters, sqlInstant as instant } from '../audiences/language/audience-language';
import { Prisma } from '../generated/prisma/client';
import { FunnelPeriod, FunnelQuery } from './funnel-spec';

const column = (prefix: string, step: number): Prisma.Sql => Prisma.raw(`${prefix}${step}`);

/** A JSON value as a breakdown label: strings as they are, other values as JSON text, null and missing as NULL. */
function label(json: Prisma.Sql): Prisma.Sql {
  const value = Prisma.sql`(${json})`;
  return Prisma.sql`CASE jsonb_typeof(${value}) WHEN 'string' THEN ${value} #>> '{}' WHEN 'null' THEN NULL ELSE ${value}::text END`;
}

/** Track events of the workspace, not after now: the scope every step looks in (alias `e`). */
function scope(query: FunnelQuery): Prisma.Sql {
  return Prisma.sql`e.workspace_id = ${query.workspaceId}::uuid AND e.type = 'track' AND e.timestamp <= ${instant(query.now)}`;
}

/** Event `e` is an event of step k (0-based): its name, and every filter holds. */
function matchesStep(query: FunnelQuery, k: number, ctx: CompileContext): Prisma.Sql {
  const step = query.steps[k];
  if (!step) throw new Error(`no step ${k}`);
  if (step.where.length === 0) return Prisma.sql`e.name = ${step.event}`;
  return Prisma.sql`e.name = ${step.event} AND ${compilePropertyFilters(Prisma.sql`e.properties`, step.where, ctx)}`;
}

/** The breakdown value read from the entry event, when the breakdown is on the event. */
function eventBreakdown(query: FunnelQuery): Prisma.Sql {
  const breakdown = query.breakdown;
  if (!breakdown || breakdown.type === 'trait') return Prisma.sql`NULL::jsonb`;
  const document = breakdown.type === 'event' ? Prisma.sql`e.properties` : Prisma.sql`e.context`;
  return Prisma.sql`${document} #> ${breakdown.path}::text[]`;
}

/**
 * Each profile's entry: the first step-1 event in [from, to), ties by id, read from
 * events(workspace_id, name, timestamp). DISTINCT ON keeps the whole row, so the breakdown value
 * of that very event comes with it.
 */
function entries(query: FunnelQuery, period: FunnelPeriod, ctx: CompileContext): Prisma.Sql {
  return Prisma.sql`l1 AS (
    SELECT DISTINCT ON (e.profile_id) e.profile_id, e.timestamp AS t1, e.timestamp AS t, ${eventBreakdown(query)} AS bd
    FROM events e
    WHERE ${scope(query)} AND ${matchesStep(query, 0, ctx)}
      AND e.timestamp >= ${instant(period.from)} AND e.timestamp < ${instant(period.to)}
    ORDER BY e.profile_id, e.timestamp, e.id
  )`;
}

/**
 * Step k (1-based, >= 2) for the people who reached step k-1: a range probe of
 * events(workspace_id, profile_id, name, timestamp) per person still in the funnel.
 */
function level(query: FunnelQuery, k: number, ctx: CompileContext): Prisma.Sql {
  const previous = column('l', k - 1);
  const range = Prisma.sql`e.profile_id = l.profile_id AND e.timestamp > l.t
      AND e.timestamp <= l.t1 + make_interval(secs => ${query.windowSeconds})`;
  const step = matchesStep(query, k - 1, ctx);
  if (query.mode === 'sequential') {
    return Prisma.sql`${column('l', k)} AS (
      SELECT l.profile_id, l.t1, min(e.timestamp) AS t
      FROM ${previous} l JOIN events e ON ${scope(query)} AND ${step} AND ${range}
      GROUP BY l.profile_id, l.t1
    )`;
  }
  // Strict: the step's event must be the first funnel-step event after the previous step (others at
  // the same instant are not "between"), so the earliest step-k event must be the earliest of all.
  const names = [...new Set(query.steps.map((s) => s.event))];
  const filtered = query.steps.some((s) => s.where.length > 0);
  const anyStep = filtered
    ? Prisma.sql` FILTER (WHERE ${Prisma.join(
        query.steps.map((_, i) => Prisma.sql`(${matchesStep(query, i, ctx)})`),
        ' OR ',
      )})`
    : Prisma.empty;
  return Prisma.sql`${column('l', k)} AS (
    SELECT l.profile_id, l.t1, min(e.timestamp) FILTER (WHERE ${step}) AS t
    FROM ${previous} l JOIN events e ON ${scope(query)} AND e.name = ANY(${names}::text[]) AND ${range}
    GROUP BY l.profile_id, l.t1
    HAVING min(e.timestamp) FILTER (WHERE ${step}) = min(e.timestamp)${anyStep}
  )`;
}

/** One row per live person (merged-away profiles own no events, but are left out for certain). */
function people(query: FunnelQuery): Prisma.Sql {
  const steps = query.steps.length;
  const breakdown = query.breakdown;
  const labelled =
    breakdown?.type === 'trait' ? label(Prisma.sql`p.traits #> ${breakdown.path}::text[]`) : label(Prisma.sql`l1.bd`);
  const times = Array.from(
    { length: steps - 1 },
    (_, i) => Prisma.sql`${column('l', i + 2)}.t AS ${column('t', i + 2)}`,
  );
  const joins = Array.from(
    { length: steps - 1 },
    (_, i) => Prisma.sql`LEFT JOIN ${column('l', i + 2)} ON ${column('l', i + 2)}.profile_id = l1.profile_id`,
  );
  return Prisma.sql`people AS (
    SELECT ${labelled} AS label, l1.t1, ${Prisma.join(times, ', ')}
    FROM l1 JOIN profiles p ON p.id = l1.profile_id AND p.workspace_id = ${query.workspaceId}::uuid AND p.merged_into_id IS NULL
    ${Prisma.join(joins, ' ')}
  )`;
}

function aggregates(steps: number): Prisma.Sql {
  const counts = Array.from({ length: steps }, (_, i) => Prisma.sql`count(${column('t', i + 1)})`);
  const seconds = (k: number) => Prisma.sql`EXTRACT(EPOCH FROM ${column('t', k)} - ${column('t', k - 1)})::float8`;
  const percentile = (fraction: number) => [
    Prisma.sql`NULL::float8`,
    ...Array.from(
      { length: steps - 1 },
      (_, i) => Prisma.sql`percentile_cont(${fraction}::float8) WITHIN GROUP (ORDER BY ${seconds(i + 2)})`,
    ),
  ];
  return Prisma.sql`ARRAY[${Prisma.join(counts, ', ')}]::int[] AS counts,
    ARRAY[${Prisma.join(percentile(0.5), ', ')}]::float8[] AS medians,
    ARRAY[${Prisma.join(percentile(0.9), ', ')}]::float8[] AS p90s`;
}

function finalSelect(query: FunnelQuery): Prisma.Sql {
  const steps = query.steps.length;
  if (!query.breakdown) {
    return Prisma.sql`SELECT 'total' AS kind, NULL::text AS value, ${aggregates(steps)} FROM people`;
  }
  return Prisma.sql`, ranked AS (
      SELECT label, row_number() OVER (ORDER BY count(*) DESC, label COLLATE "C") AS rank
      FROM people WHERE label IS NOT NULL GROUP BY label
    ),
    bucketed AS (
      SELECT people.*,
        CASE WHEN people.label IS NULL THEN 'none' WHEN r.rank <= ${query.breakdown.limit} THEN 'value' ELSE 'other' END AS kind,
        CASE WHEN r.rank <= ${query.breakdown.limit} THEN people.label END AS value
      FROM people LEFT JOIN ranked r ON r.label = people.label
    )
    SELECT CASE WHEN GROUPING(kind, value) = 0 THEN kind ELSE 'total' END AS kind, value, ${aggregates(steps)}
    FROM bucketed GROUP BY GROUPING SETS ((), (kind, value))`;
}

/** One row for everyone (`kind = 'total'`) and, with a breakdown, one per bucket. */
export function funnelReportSql(query: FunnelQuery, period: FunnelPeriod): Prisma.Sql {
  const ctx: CompileContext = { workspaceId: query.workspaceId, now: query.now };
  const levels = Array.from({ length: query.steps.length - 1 }, (_, i) => level(query, i + 2, ctx));
  const ctes = [entries(query, period, ctx), ...levels, people(query)];
  const select = finalSelect(query);
  return query.breakdown
    ? Prisma.sql`WITH ${Prisma.join(ctes, ',\n')}${select}`
    : Prisma.sql`WITH ${Prisma.join(ctes, ',\n')}\n${select}`;
}
