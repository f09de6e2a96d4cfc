import { Prisma } from '../generated/prisma/client';

/**
 * The advisory lock class of audiences: computations and real-time evaluations of an audience
 * hold (AUDIENCE_LOCK_CLASS, hashtext(audience id)) for their whole transaction, and whatever must
 * see an audience's membership between two of them (a backfill) takes it too. A class of its own
 * (the two-int form), apart from the migrator's single bigint key, so a hash can never collide with it.
 */
export const AUDIENCE_LOCK_CLASS = 0x6d656d62; // "memb"

/** Takes one audience's lock until the end of the transaction. */
export function lockAudience(audienceId: string): Prisma.Sql {
  return Prisma.sql`SELECT pg_advisory_xact_lock(${AUDIENCE_LOCK_CLASS}::int, hashtext(${audienceId}))`;
}
