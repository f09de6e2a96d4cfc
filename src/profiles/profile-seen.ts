import { Prisma } from '../generated/prisma/client';

/*
 * A known profile's first and last seen are not updated by the request that stores its events:
 * `last_seen_at` is indexed, so that update could never be HOT. The request widens the profile's
 * pending range instead (pending_first_seen_at / pending_last_seen_at, columns no index covers, so
 * the update is HOT), and evaluation folds the pending range into first/last seen before it
 * evaluates the profile (applyPendingSeenSteps, in the claim); a full computation folds those of its
 * workspace's queued profiles first. Until then a reader that must be exact (the profile API,
 * identity merges, account member listings) reads both (seenNow). Folding is idempotent (LEAST /
 * GREATEST) and happens under the profile's row lock, as ingest's widening does, so the two never
 * lose each other's range.
 */

/** `alias.first_seen_at` and `alias.last_seen_at` with the profile's pending range applied. */
export function seenNow(alias: string): { first: Prisma.Sql; last: Prisma.Sql } {
  const column = (name: string) => Prisma.raw(`${alias}.${name}`);
  return {
    first: Prisma.sql`LEAST(${column('first_seen_at')}, ${column('pending_first_seen_at')})`,
    last: Prisma.sql`GREATEST(${column('last_seen_at')}, ${column('pending_last_seen_at')})`,
  };
}

/**
 * Whose pending ranges to fold: some profiles of a workspace (ids, or a query yielding them, such
 * as the profiles of the outbox rows a statement claims), or every profile of it with a queued
 * change (a profile with a pending range always has one: the request that widened it queued it).
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
 * The common table expressions `seen_targets` and `seen_applied` that fold the pending ranges of
 * `scope`'s profiles into their first/last seen: only where a range moves them (a range inside
 * them stays, harmless, until a later fold). Profiles by primary key (ANY of an array), whatever
 * the statistics say; rows are locked in id order, as ingest locks them, so two of these and an
 * ingest never wait on each other in a cycle. The update reads the row as locked, so a range a
 * concurrent request added meanwhile is folded too. `seen_applied` yields a row per profile updated.
 */
export function applyPendingSeenSteps(scope: SeenScope): Prisma.Sql {
  return Prisma.sql`
    seen_targets AS (
      SELECT p.id FROM profiles p
      WHERE p.id = ANY(${scopeIds(scope)})
        AND (p.workspace_id = ${scope.workspaceId}::uuid) IS TRUE
        AND (p.pending_last_seen_at > p.last_seen_at OR p.pending_first_seen_at < p.first_seen_at)
      ORDER BY p.id
      FOR NO KEY UPDATE OF p
    ),
    seen_applied AS (
      UPDATE profiles p SET first_seen_at = LEAST(p.first_seen_at, p.pending_first_seen_at),
                            last_seen_at = GREATEST(p.last_seen_at, p.pending_last_seen_at),
                            pending_first_seen_at = NULL,
                            pending_last_seen_at = NULL,
                            updated_at = now()
      WHERE p.id = ANY(ARRAY(SELECT id FROM seen_targets))
      RETURNING 1
    )`;
}

/** applyPendingSeenSteps on its own; returns the number of profiles updated. */
export function applyPendingSeen(scope: SeenScope): Prisma.Sql {
  return Prisma.sql`WITH ${applyPendingSeenSteps(scope)} SELECT count(*)::int AS updated FROM seen_applied`;
}
