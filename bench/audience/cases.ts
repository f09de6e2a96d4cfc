/**
 * The audiences the benchmark times: each definition next to the SQL a Postgres expert would write
 * by hand for the same people, over the same indexes. `$1` is the workspace id and `$2` the
 * instant the audience is computed at; further values are bound as `$3`, `$4`…
 *
 * Where the hand-written query relies on a fact of the generated data rather than on the
 * language's general semantics, its comment says so (such shortcuts are what an expert would use).
 */
export interface AudienceBenchCase {
  key: string;
  definition: string;
  /** The COUNT of matching live profiles; `$1` workspace id, `$2` now. */
  handWritten: string;
  params?: unknown[];
}

const LIVE_PROFILES =
  'SELECT count(*)::int AS count FROM profiles p WHERE p.workspace_id = $1 AND p.merged_into_id IS NULL';

/** A long journey through the product, each step strictly after the previous one. */
const JOURNEY = [
  'Signed Up',
  'Project Created',
  'Project Opened',
  'Project Opened',
  'Report Exported',
  'Project Opened',
  'Dashboard Shared',
  'Project Opened',
  'Invite Sent',
  'Project Opened',
];

/**
 * The journey by hand, as funnel reports compute it: each profile's first "Signed Up", then level
 * by level the earliest next step after the previous one (greedy, which is optimal for "in order").
 */
function journeyByHand(): string {
  const levels = JOURNEY.slice(1).map(
    (event, i) => `l${i + 2} AS (SELECT l.profile_id, min(e.timestamp) AS t FROM l${i + 1} l
      JOIN events e ON e.workspace_id = $1 AND e.profile_id = l.profile_id AND e.type = 'track'
        AND e.name = '${event}' AND e.timestamp > l.t AND e.timestamp <= $2
      GROUP BY l.profile_id)`,
  );
  return `WITH l1 AS (SELECT e.profile_id, min(e.timestamp) AS t FROM events e
      WHERE e.workspace_id = $1 AND e.type = 'track' AND e.name = '${JOURNEY[0]}' AND e.timestamp <= $2
      GROUP BY e.profile_id),
    ${levels.join(',\n    ')}
    ${LIVE_PROFILES} AND p.id IN (SELECT profile_id FROM l${JOURNEY.length})`;
}

export const AUDIENCE_CASES: readonly AudienceBenchCase[] = [
  {
    key: 'tutorial-inactive',
    definition: 'never performed "Tutorial Viewed" and inactive 30 days',
    handWritten: `${LIVE_PROFILES}
      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.workspace_id = $1 AND e.profile_id = p.id
                      AND e.name = 'Tutorial Viewed' AND e.type = 'track' AND e.timestamp <= $2)
      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.workspace_id = $1 AND e.profile_id = p.id
                      AND e.timestamp > $2::timestamptz - interval '30 days' AND e.timestamp <= $2)`,
  },
  {
    key: 'big-spenders',
    definition: 'performed "Order Completed" at least 3 times within 90 days where total > 100',
    // The generator writes totals as JSON numbers, so a plain numeric cast is enough here; the
    // language also accepts numeric strings ("120"), which costs a regular expression per event.
    handWritten: `${LIVE_PROFILES}
      AND p.id IN (SELECT e.profile_id FROM events e
                   WHERE e.workspace_id = $1 AND e.name = 'Order Completed' AND e.type = 'track'
                     AND e.timestamp > $2::timestamptz - interval '90 days' AND e.timestamp <= $2
                     AND jsonb_typeof(e.properties -> 'total') = 'number' AND (e.properties ->> 'total')::numeric > 100
                   GROUP BY e.profile_id HAVING count(*) >= 3)`,
  },
  {
    key: 'active-week',
    definition: 'active within 7 days',
    handWritten: `${LIVE_PROFILES}
      AND EXISTS (SELECT 1 FROM events e WHERE e.workspace_id = $1 AND e.profile_id = p.id
                  AND e.timestamp > $2::timestamptz - interval '7 days' AND e.timestamp <= $2)`,
  },
  {
    key: 'new-signups',
    definition: 'first performed "Signed Up" within 30 days',
    handWritten: `${LIVE_PROFILES}
      AND p.id IN (SELECT e.profile_id FROM events e
                   WHERE e.workspace_id = $1 AND e.name = 'Signed Up' AND e.type = 'track' AND e.timestamp <= $2
                   GROUP BY e.profile_id HAVING min(e.timestamp) > $2::timestamptz - interval '30 days')`,
  },
  {
    key: 'google-free-signups',
    definition: 'performed "Signed Up" within 60 days where (plan = "Free" and method = "google")',
    handWritten: `${LIVE_PROFILES}
      AND EXISTS (SELECT 1 FROM events e WHERE e.workspace_id = $1 AND e.profile_id = p.id
                  AND e.name = 'Signed Up' AND e.type = 'track'
                  AND e.timestamp > $2::timestamptz - interval '60 days' AND e.timestamp <= $2
                  AND e.properties @> '{"plan": "Free", "method": "google"}')`,
  },
  {
    key: 'paying-active',
    definition: 'trait plan in ["Pro Monthly", "Pro Annual", "Team Annual"] and active within 30 days',
    handWritten: `${LIVE_PROFILES}
      AND p.traits ->> 'plan' = ANY ($3::text[]) AND jsonb_typeof(p.traits -> 'plan') = 'string'
      AND EXISTS (SELECT 1 FROM events e WHERE e.workspace_id = $1 AND e.profile_id = p.id
                  AND e.timestamp > $2::timestamptz - interval '30 days' AND e.timestamp <= $2)`,
    params: [['Pro Monthly', 'Pro Annual', 'Team Annual']],
  },
  {
    key: 'activated-in-a-day',
    definition: 'performed "Signed Up" then performed "Project Created" within 1 day',
    handWritten: `${LIVE_PROFILES}
      AND EXISTS (SELECT 1 FROM events s WHERE s.workspace_id = $1 AND s.profile_id = p.id
                  AND s.name = 'Signed Up' AND s.type = 'track' AND s.timestamp <= $2
                  AND EXISTS (SELECT 1 FROM events c WHERE c.workspace_id = $1 AND c.profile_id = p.id
                              AND c.name = 'Project Created' AND c.type = 'track' AND c.timestamp <= $2
                              AND c.timestamp > s.timestamp AND c.timestamp <= s.timestamp + interval '1 day'))`,
  },
  {
    key: 'cart-abandoners',
    definition: 'performed "Product Added" then not performed "Order Completed" within 1 hour',
    handWritten: `${LIVE_PROFILES}
      AND p.id IN (SELECT a.profile_id FROM events a
                   WHERE a.workspace_id = $1 AND a.name = 'Product Added' AND a.type = 'track'
                     AND a.timestamp <= $2::timestamptz - interval '1 hour'
                     AND NOT EXISTS (SELECT 1 FROM events o WHERE o.workspace_id = $1 AND o.profile_id = a.profile_id
                                     AND o.name = 'Order Completed' AND o.type = 'track' AND o.timestamp <= $2
                                     AND o.timestamp > a.timestamp AND o.timestamp <= a.timestamp + interval '1 hour'))`,
  },
  {
    key: 'lapsed-with-email',
    definition: 'last seen before 60 days ago and trait email exists',
    handWritten: `${LIVE_PROFILES}
      AND p.last_seen_at <= $2::timestamptz - interval '60 days'
      AND jsonb_typeof(p.traits -> 'email') <> 'null'`,
  },
  {
    key: 'ten-step-journey',
    definition: JOURNEY.map((event) => `performed "${event}"`).join(' then '),
    handWritten: journeyByHand(),
  },
  {
    key: 'created-not-invited',
    definition: 'performed "Signed Up" then performed "Project Created" then not performed "Invite Sent" within 7 days',
    // For each sign-up at least 7 days old: its latest project within the week, and no invite
    // after that project before the week is over.
    handWritten: `${LIVE_PROFILES}
      AND p.id IN (SELECT x.profile_id FROM (
          SELECT s.profile_id, s.timestamp AS started, max(c.timestamp) AS created
          FROM events s JOIN events c ON c.workspace_id = $1 AND c.profile_id = s.profile_id AND c.type = 'track'
            AND c.name = 'Project Created' AND c.timestamp > s.timestamp AND c.timestamp <= s.timestamp + interval '7 days'
          WHERE s.workspace_id = $1 AND s.type = 'track' AND s.name = 'Signed Up'
            AND s.timestamp <= $2::timestamptz - interval '7 days'
          GROUP BY s.profile_id, s.timestamp) x
        WHERE NOT EXISTS (SELECT 1 FROM events i WHERE i.workspace_id = $1 AND i.profile_id = x.profile_id
          AND i.type = 'track' AND i.name = 'Invite Sent' AND i.timestamp > x.created
          AND i.timestamp <= x.started + interval '7 days'))`,
  },
];
