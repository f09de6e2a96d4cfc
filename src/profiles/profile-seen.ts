import { Prisma } from '../generated/prisma/client';

/*
 * A known profile's first and last seen are not updated by the request that stores its events:
 * the outbox row that request writes anyway (profile_changes) carries the seen range of its new
 * events. Evaluation applies the pending ranges of a batch's profiles, coalesced, before it
 * evaluates them (applyPendingSeenSteps, in the claim), and a full computation applies its
 * workspace's first. Until then a reader that must be exact (the profile API, identity merges,
 * account member listings) reads the profile's value together with its pending rows (seenNow).
 * Applying is idempotent (LEAST / GREATEST), so applying a range twice, or by two evaluators at
 * once, changes nothing; a range stays in the outbox until its row is evaluated and deleted.
 */

/** The earliest first seen and latest last seen pending for profile `id` (profile_changes_pending_seen_idx). */
function pendingSeen(id: Prisma.Sql): { first: Prisma.Sql; last: Prisma.Sql } {
  const of = (aggregate: Prisma.Sql) =>
    Prisma.sql`(SELECT ${aggregate} FROM profile_changes c WHERE c.profile_id = ${id} AND c.last_seen_at IS NOT NULL)`;
  return { first: of(Prisma.sql`min(c.first_seen_at)`), last: of(Prisma.sql`max(c.last_seen_at)`) };
}

/** `alias.first_seen_at` and `alias.last_seen_at` with the profile's pending ranges applied. */
export function seenNow(alias: string): { first: Prisma.Sql; last: Prisma.Sql } {
  const column = (name: string) => Prisma.raw(`${alias}.${name}`);
  const pending = pendingSeen(column('id'));
  return {
    first: Prisma.sql`LEAST(${column('first_seen_at')}, ${pending.first})`,
    last: Prisma.sql`GREATEST(${column('last_seen_at')}, ${pending.last})`,
  };
}

/**
 * Whose pending ranges to apply: some profiles of a workspace (ids, or a query yielding them, such
 * as the profiles of the outbox rows a statement claims), or every profile of it.
 */
export type SeenScope =
  { workspaceId: string; profileIds: readonly string[] | Prisma.Sql } | { workspaceId: string; all: true };

function scopeFilter(scope: SeenScope): Prisma.Sql {
  if ('all' in scope) return Prisma.sql`c.workspace_id = ${scope.workspaceId}::uuid`;
  // By profile (the partial index, one probe per id); the workspace as a filter only, for the
  // reason heldRows gives.
  const ids =
    scope.profileIds instanceof Prisma.Sql
      ? Prisma.sql`ARRAY(${scope.profileIds})`
      : Prisma.sql`${scope.profileIds}::uuid[]`;
  return Prisma.sql`c.profile_id = ANY(${ids}) AND (c.workspace_id = ${scope.workspaceId}::uuid) IS TRUE`;
}

/**
 * The common table expressions `seen_pending`, `seen_targets` and `seen_applied` that apply the
 * pending seen ranges of `scope` to the profiles: one update per profile whatever its number of
 * pending rows, and only where a range moves first or last seen. Rows are locked in id order, as
 * ingest locks them, so two of these and an ingest never wait on each other in a cycle.
 * `seen_applied` yields a row per profile updated.
 */
export function applyPendingSeenSteps(scope: SeenScope): Prisma.Sql {
  return Prisma.sql`
    seen_pending AS (
      SELECT c.profile_id, min(c.first_seen_at) AS first_ts, max(c.last_seen_at) AS last_ts
      FROM profile_changes c
      WHERE ${scopeFilter(scope)} AND c.last_seen_at IS NOT NULL
      GROUP BY c.profile_id
    ),
    -- Profiles by primary key (ANY of an array), whatever the statistics say about either table.
    seen_targets AS (
      SELECT p.id, pe.first_ts, pe.last_ts FROM profiles p JOIN seen_pending pe ON pe.profile_id = p.id
      WHERE p.id = ANY(ARRAY(SELECT profile_id FROM seen_pending))
        AND (p.workspace_id = ${scope.workspaceId}::uuid) IS TRUE
        AND (pe.last_ts > p.last_seen_at OR pe.first_ts < p.first_seen_at)
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
