import { Prisma } from '../generated/prisma/client';

/**
 * Advisory locks of audiences live in their own class (the two-int form), apart from the
 * migrator's single bigint key, so a hash can never collide with it.
 */
export const AUDIENCE_LOCK_CLASS = 0x6d656d62; // "memb"

/**
 * Takes an audience's transaction-scoped lock: computations and real-time evaluations of the
 * audience hold it while they write memberships, and connecting a destination with backfill holds
 * it so that the backfill reads a membership no computation is still writing.
 */
export function audienceLockSql(audienceId: string): Prisma.Sql {
  return advisoryLockSql(AUDIENCE_LOCK_CLASS, audienceId);
}

/** The locks of several audiences in one statement, in the order every holder of several uses. */
export function audienceLocksSql(audienceIds: readonly string[]): Prisma.Sql {
  return advisoryLocksSql(AUDIENCE_LOCK_CLASS, audienceIds);
}

/** A transaction-scoped lock on one id of a lock class (audiences, computed traits, …). */
export function advisoryLockSql(lockClass: number, id: string): Prisma.Sql {
  return Prisma.sql`SELECT pg_advisory_xact_lock(${lockClass}::int, hashtext(${id}))`;
}

/**
 * The frequency cap's locks, one per person (key `workspaceId/profileId`), in their own advisory
 * lock class ("capp"): the delivery workers count a person's messages under it before an email
 * passes the cap, and the journey runner before its sends to people pass it, so neither can count
 * before the other's message is written.
 */
export const FREQUENCY_CAP_LOCK_CLASS = 0x63617070;

export function frequencyCapLockKey(workspaceId: string, profileId: string): string {
  return `${workspaceId}/${profileId}`;
}

/**
 * The locks of several ids of one class in one statement, in id order (byte order, whatever the
 * database's collation): every holder of several takes them in that order, so two cannot deadlock.
 */
export function advisoryLocksSql(lockClass: number, ids: readonly string[]): Prisma.Sql {
  return Prisma.sql`
    SELECT count(pg_advisory_xact_lock(${lockClass}::int, hashtext(s.id)))
    FROM (SELECT DISTINCT u.id COLLATE "C" AS id FROM unnest(${[...ids]}::text[]) AS u(id) ORDER BY 1) s`;
}

/**
 * The lock of a workspace's definitions: saving an audience and deleting an audience or a computed
 * trait check references under it, so that two edits cannot each pass their check and together
 * close a cycle or orphan a reference.
 */
export function workspaceDefinitionsLockSql(workspaceId: string): Prisma.Sql {
  return Prisma.sql`SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtextextended(${`audiences ${workspaceId}`}, 0))) AS l`;
}
