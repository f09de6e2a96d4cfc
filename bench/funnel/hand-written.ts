/**
 * The baseline: the funnel as an analyst would write it by hand in SQL, one CTE per step joining
 * events again by profile (index events(workspace_id, profile_id, name, timestamp)), grouped by
 * the breakdown value with ROLLUP for the total. No filters, no top-N (every value is a row).
 * Event names and the context path are constants here, as an analyst would type them.
 */
export interface HandWrittenFunnel {
  workspaceId: string;
  steps: readonly string[];
  from: Date;
  to: Date;
  windowDays: number;
  now: Date;
  /** JSON path into the entry event's context, e.g. ['campaign', 'source']. */
  contextPath: readonly string[];
}

const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** Returns the SQL text; every value is a constant the benchmark controls (not user input). */
export function handWrittenFunnelSql(f: HandWrittenFunnel): string {
  const ws = `${literal(f.workspaceId)}::uuid`;
  const window = `interval '${f.windowDays} days'`;
  const now = `${literal(f.now.toISOString())}::timestamptz`;
  const ctes = [
    `s1 AS (
      SELECT DISTINCT ON (e.profile_id) e.profile_id, e.timestamp AS t, e.timestamp AS t1,
        e.context #>> ${literal(`{${f.contextPath.join(',')}}`)} AS source
      FROM events e
      WHERE e.workspace_id = ${ws} AND e.type = 'track' AND e.name = ${literal(f.steps[0] ?? '')}
        AND e.timestamp >= ${literal(f.from.toISOString())}::timestamptz AND e.timestamp < ${literal(f.to.toISOString())}::timestamptz
        AND e.timestamp <= ${now}
      ORDER BY e.profile_id, e.timestamp, e.id
    )`,
  ];
  for (let k = 2; k <= f.steps.length; k++) {
    ctes.push(`s${k} AS (
      SELECT s.profile_id, s.t1, min(e.timestamp) AS t
      FROM s${k - 1} s JOIN events e ON e.workspace_id = ${ws} AND e.profile_id = s.profile_id
        AND e.type = 'track' AND e.name = ${literal(f.steps[k - 1] ?? '')}
        AND e.timestamp > s.t AND e.timestamp <= s.t1 + ${window} AND e.timestamp <= ${now}
      GROUP BY s.profile_id, s.t1
    )`);
  }
  const joins = f.steps
    .slice(1)
    .map((_, i) => `LEFT JOIN s${i + 2} ON s${i + 2}.profile_id = s1.profile_id`)
    .join(' ');
  const counts = f.steps.map((_, i) => `count(s${i + 1}.t) AS c${i + 1}`).join(', ');
  const medians = f.steps
    .slice(1)
    .map(
      (_, i) =>
        `percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM s${i + 2}.t - s${i + 1}.t)::float8) AS m${i + 2}`,
    )
    .join(', ');
  return `WITH ${ctes.join(',\n')}
    SELECT GROUPING(s1.source) = 1 AS total, s1.source, ${counts}, ${medians}
    FROM s1 JOIN profiles p ON p.id = s1.profile_id AND p.merged_into_id IS NULL ${joins}
    GROUP BY ROLLUP (s1.source)`;
}
