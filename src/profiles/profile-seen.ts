import { Prisma } from '../generated/prisma/client';

/*
 * A known profile's first and last seen are not updated by the request that stores its events: its
 * events hold the timestamps, and the outbox row the request writes anyway (profile_changes) says
 * the profile changed. Evaluation applies the earliest and latest timestamp of a batch's profiles'
 * events before it evaluates them (applyPendingSeenSteps, in the claim), and a full computation
 * applies those of its workspace's queued profiles first. Until then a reader that must be exact
 * (the profile API, identity merges, account member listings) reads the profile's value together
 * with its events' (seenNow). Applying is idempotent (LEAST / GREATEST), so applying twice, or by
 * two evaluators at once, changes nothing; a profile's row never moves back.
 */

/**
 * The earliest and latest timestamp of the events of profile `id` in workspace `workspaceId`: one
 * descent each into events(workspace_id, profile_id, timestamp).
 */
function eventsSeen(workspaceId: Prisma.Sql, id: Prisma.Sql): { first: Prisma.Sql; last: Prisma.Sql } {
  const of = (aggregate: Prisma.Sql) =>
    Prisma.sql`(SELECT ${aggregate} FROM events e WHERE e.workspace_id = ${workspaceId} AND e.profile_id = ${id})`;
  return { first: of(Prisma.sql`min(e.timestamp)`), last: of(Prisma.sql`max(e.timestamp)`) };
}

/** `alias.first_seen_at` and `alias.last_seen_at` with the profile's events applied. */
export function seenNow(alias: string): { first: Prisma.Sql; last: Prisma.Sql } {
  const column = (name: string) => Prisma.raw(`${alias}.${name}`);
  const events = eventsSeen(column('workspace_id'), column('id'));
  return {
    first: Prisma.sql`LEAST(${column('first_seen_at')}, ${events.first})`,
    last: Prisma.sql`GREATEST(${column('last_seen_at')}, ${events.last})`,
  };
}

/**
 * Whose first/last seen to apply: some profiles of a workspace (ids, or a query yielding them, such
 * as the profiles of the outbox rows a statement claims), or every profile of it with a queued change.
 */
export type SeenScope =
  { workspaceId: string; profileIds: readonly string[] | Prisma.Sql } | { workspaceId: string; all: true };

function scopeIds(scope: SeenScope): Prisma.Sql {
  if ('all' in scope) {
    return Prisma.sql`ARRAY(SELECT DISTINCT unnest(c.profile_ids) FROM profile_changes c
                            WHERE c.workspace_id = ${scope.workspaceId}::uuid)`;
  }
  return scope.profileIds instanceof Prisma.Sql
    ? Prisma.sql`ARRAY(${scope.profileIds})`
    : Prisma.sql`${scope.profileIds}::uuid[]`;
}

/**
 * The common table expressions `seen_targets` and `seen_applied` that apply the first/last seen of
 * the events of `scope`'s profiles to the profiles: one update per profile, and only where its
 * events move first or last seen. Profiles by primary key (ANY of an array), whatever the
 * statistics say; rows are locked in id order, as ingest locks them, so two of these and an ingest
 * never wait on each other in a cycle. `seen_applied` yields a row per profile updated.
 */
export function applyPendingSeenSteps(scope: SeenScope): Prisma.Sql {
  const events = eventsSeen(Prisma.sql`p.workspace_id`, Prisma.sql`p.id`);
  return Prisma.sql`
    seen_targets AS (
      SELECT p.id, s.first_ts, s.last_ts
      FROM profiles p
      CROSS JOIN LATERAL (SELECT ${events.first} AS first_ts, ${events.last} AS last_ts) s
      WHERE p.id = ANY(${scopeIds(scope)})
        AND (p.workspace_id = ${scope.workspaceId}::uuid) IS TRUE
        AND (s.last_ts > p.last_seen_at OR s.first_ts < p.first_seen_at)
      ORDER BY p.id
      FOR NO KEY UPDATE OF p
    ),
    seen_applied AS (
      UPDATE profiles p SET first_seen_at = LEAST(p.first_seen_at, t.first_ts),
                            last_seen_at = GREATEST(p.last_seen_at, t.last_ts),
                            updated_at = now()
      FROM seen_targets t WHERE p.id = ANY(ARRAY(SELECT id FROM seen_targets)) AND p.id = t.id
      RETURNING 1
    )`;
}

/** applyPendingSeenSteps on its own; returns the number of profiles updated. */
export function applyPendingSeen(scope: SeenScope): Prisma.Sql {
  return Prisma.sql`WITH ${applyPendingSeenSteps(scope)} SELECT count(*)::int AS updated FROM seen_applied`;
}
