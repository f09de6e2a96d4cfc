/**
 * A score as SQL. Each component's condition is compiled by the audience compiler of the score's
 * level (the same predicate an audience with that definition runs), so a score is exactly the sum
 * of what those audiences would say: set-based, one pass over the profiles (`p`) or accounts (`g`)
 * of the workspace, every predicate TRUE or FALSE, never NULL. Values are bound; band names too.
 */
import { audiencePredicate } from '../audiences/audience-predicate';
import { Prisma } from '../generated/prisma/client';
import type { ScoreDefinition, ScoreLevel } from './score-definition';

export interface CompiledScore {
  workspaceId: string;
  level: ScoreLevel;
  /** One predicate per component, in order. */
  conditions: Prisma.Sql[];
  definition: ScoreDefinition;
}

export function compileScore(
  workspaceId: string,
  level: ScoreLevel,
  definition: ScoreDefinition,
  now: Date,
): CompiledScore {
  const scope = { workspaceId, includeHistoricalData: true, historyStartsAt: null, createdAt: now };
  const conditions = definition.components.map((c) => audiencePredicate(c.conditionAst, scope, now, level));
  return { workspaceId, level, conditions, definition };
}

/** The subjects of a level, live ones only, optionally restricted to some ids: `FROM … WHERE …`. */
export function subjectsFrom(compiled: Pick<CompiledScore, 'workspaceId' | 'level'>, ids?: readonly string[]) {
  const only = (alias: string) =>
    ids ? Prisma.sql` AND ${Prisma.raw(alias)}.id = ANY(${[...ids]}::uuid[])` : Prisma.empty;
  return compiled.level === 'account'
    ? Prisma.sql`FROM groups g WHERE g.workspace_id = ${compiled.workspaceId}::uuid${only('g')}`
    : Prisma.sql`FROM profiles p WHERE p.workspace_id = ${compiled.workspaceId}::uuid AND p.merged_into_id IS NULL${only('p')}`;
}

function subjectId(level: ScoreLevel): Prisma.Sql {
  return level === 'account' ? Prisma.sql`g.id` : Prisma.sql`p.id`;
}

/** The sum of the points of the components that hold, as an int expression over the subject row. */
function valueExpression(compiled: CompiledScore): Prisma.Sql {
  const terms = compiled.conditions.map(
    (condition, i) =>
      Prisma.sql`CASE WHEN ${condition} THEN ${compiled.definition.components[i]!.points}::int ELSE 0 END`,
  );
  return Prisma.sql`(${Prisma.join(terms, ' + ')})`;
}

/** The band of an int expression: bands are highest `min` first and the last one covers 0. */
export function bandExpression(definition: ScoreDefinition, value: Prisma.Sql): Prisma.Sql {
  const bands = definition.bands;
  const last = bands[bands.length - 1]!;
  const whens = bands.slice(0, -1).map((band) => Prisma.sql`WHEN ${value} >= ${band.min}::int THEN ${band.name}::text`);
  return whens.length === 0
    ? Prisma.sql`${last.name}::text`
    : Prisma.sql`CASE ${Prisma.join(whens, ' ')} ELSE ${last.name}::text END`;
}

/** Rows of (subject_id, value, band) for every live subject (or the given ones). */
export function scoreTargetQuery(compiled: CompiledScore, ids?: readonly string[]): Prisma.Sql {
  return Prisma.sql`SELECT s.subject_id, s.value, ${bandExpression(compiled.definition, Prisma.sql`s.value`)} AS band
    FROM (SELECT ${subjectId(compiled.level)} AS subject_id, ${valueExpression(compiled)} AS value
          ${subjectsFrom(compiled, ids)}) s`;
}

/**
 * One statement that brings score_values in line with the definition: target values, the stored
 * ones, and the difference (appeared, changed, gone) written back; unchanged rows are not touched.
 * With `ids`, only those subjects (a subject among them no longer live loses its value).
 */
export function scoreValuesStatement(scoreId: string, compiled: CompiledScore, now: Date, ids?: readonly string[]) {
  const current = ids
    ? Prisma.sql`SELECT v.subject_id, v.value, v.band FROM score_values v
        WHERE v.score_id = ${scoreId}::uuid AND v.subject_id = ANY(${[...ids]}::uuid[])`
    : Prisma.sql`SELECT v.subject_id, v.value, v.band FROM score_values v WHERE v.score_id = ${scoreId}::uuid`;
  return Prisma.sql`
    WITH target AS MATERIALIZED (${scoreTargetQuery(compiled, ids)}),
    current AS MATERIALIZED (${current}),
    changed AS MATERIALIZED (
      SELECT coalesce(t.subject_id, c.subject_id) AS subject_id, t.value, t.band
      FROM target t FULL JOIN current c ON c.subject_id = t.subject_id
      WHERE (t.value, t.band) IS DISTINCT FROM (c.value, c.band)
    ),
    upserted AS (
      INSERT INTO score_values (score_id, workspace_id, subject_id, value, band, computed_at)
      SELECT ${scoreId}::uuid, ${compiled.workspaceId}::uuid, subject_id, value, band, ${now.toISOString()}::timestamptz
      FROM changed WHERE value IS NOT NULL
      ON CONFLICT (score_id, subject_id) DO UPDATE
        SET value = EXCLUDED.value, band = EXCLUDED.band, computed_at = EXCLUDED.computed_at
      RETURNING 1
    ),
    removed AS (
      DELETE FROM score_values v USING changed c
      WHERE v.score_id = ${scoreId}::uuid AND v.subject_id = c.subject_id AND c.value IS NULL
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM changed)::int AS changed,
      (SELECT count(*) FROM upserted)::int + (SELECT count(*) FROM removed)::int AS written`;
}

/**
 * Records everyone's current value for the period starting at `periodStart`, once: the period row's
 * primary key makes a second run for the same period insert nothing (its snapshot rows hang off the
 * RETURNING of the period row).
 */
export function snapshotStatement(scoreId: string, workspaceId: string, periodStart: Date, now: Date): Prisma.Sql {
  return Prisma.sql`
    WITH period AS (
      INSERT INTO score_snapshot_periods (score_id, period_start, workspace_id, taken_at)
      VALUES (${scoreId}::uuid, ${periodStart.toISOString()}::timestamptz, ${workspaceId}::uuid, ${now.toISOString()}::timestamptz)
      ON CONFLICT (score_id, period_start) DO NOTHING
      RETURNING period_start
    ),
    recorded AS (
      INSERT INTO score_snapshots (score_id, period_start, subject_id, workspace_id, value, band)
      SELECT ${scoreId}::uuid, period.period_start, v.subject_id, ${workspaceId}::uuid, v.value, v.band
      FROM score_values v CROSS JOIN period
      WHERE v.score_id = ${scoreId}::uuid
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM period)::int AS periods, (SELECT count(*) FROM recorded)::int AS recorded`;
}

/** For one subject: whether each component holds (c0, c1, …), NULL row set when it is not live. */
export function explainQuery(compiled: CompiledScore, subject: string): Prisma.Sql {
  const columns = compiled.conditions.map((condition, i) => Prisma.sql`(${condition}) AS ${Prisma.raw(`c${i}`)}`);
  return Prisma.sql`SELECT ${Prisma.join(columns, ', ')} ${subjectsFrom(compiled, [subject])}`;
}
