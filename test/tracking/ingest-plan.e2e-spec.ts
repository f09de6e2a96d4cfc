import { randomUUID } from 'node:crypto';

import { Prisma } from '../../src/generated/prisma/client';
import { EventRow, IngestWrite, TrackingRepository } from '../../src/tracking/tracking.repository';
import { withOneConnection } from '../support/database';

/** A request of `track` events, one per profile, about profiles that already exist. */
function knownPeopleWrite(workspaceId: string, profileIds: string[]): IngestWrite {
  const at = new Date().toISOString();
  const events: EventRow[] = profileIds.map((profileId) => ({
    profile_id: profileId,
    message_id: randomUUID(),
    type: 'track',
    name: 'Page Viewed',
    user_id: null,
    anonymous_id: null,
    properties: '{}',
    traits: null,
    context: '{}',
    integrations: null,
    timestamp: at,
    original_timestamp: null,
    sent_at: null,
    received_at: at,
  }));
  return {
    workspaceId,
    sourceId: randomUUID(),
    events,
    newProfiles: [],
    newIdentities: [],
    groups: [],
    memberships: [],
    touchedProfileIds: profileIds,
    existingProfileIds: profileIds,
    quarantine: [],
    replayedQuarantineIds: [],
  };
}

describe('The ingest statement', () => {
  it('reads only the profiles it writes about, with a plan prepared while the table was young', async () => {
    // The statement is prepared once per connection, and its generic plan is kept. Made while
    // `profiles` had a few hundred rows, "id = ANY(…)" scanned every profile of the table for each
    // request later on (7 ms a request at 22,000 profiles, bench:ingest with one client; here it
    // read all 20,600).
    await withOneConnection(async (single) => {
      const repository = new TrackingRepository(single);
      const ws = randomUUID();
      await single.query(Prisma.sql`INSERT INTO workspaces (id, name) VALUES (${ws}::uuid, 'young then grown')`);
      const addProfiles = async (n: number): Promise<string[]> =>
        (
          await single.query<{ id: string }>(Prisma.sql`
            INSERT INTO profiles (id, workspace_id, first_seen_at, last_seen_at)
            SELECT gen_random_uuid(), ${ws}::uuid, now(), now() FROM generate_series(1, ${n}::int) RETURNING id`)
        ).map((row) => row.id);

      const young = await addProfiles(600);
      for (let i = 0; i < 10; i += 1)
        await repository.writeIngest(knownPeopleWrite(ws, young.slice(i * 50, (i + 1) * 50)));
      const [prepared] = await single.query<{ generic_plans: string }>(
        Prisma.sql`SELECT generic_plans FROM pg_prepared_statements WHERE name = 'tracking_write_ingest'`,
      );
      expect(Number(prepared?.generic_plans)).toBeGreaterThan(0);

      await addProfiles(20_000);
      // Rows of `profiles` read so far, by any scan; the one connection reports its own at once.
      const profileRowsRead = async (): Promise<number> => {
        await single.query(Prisma.sql`SELECT pg_stat_force_next_flush()`);
        const [row] = await single.query<{ n: string }>(Prisma.sql`
          SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) AS n FROM pg_stat_user_tables WHERE relname = 'profiles'`);
        return Number(row?.n);
      };
      const before = await profileRowsRead();
      await single.query(Prisma.sql`SELECT pg_stat_force_next_flush()`);
      expect(await repository.writeIngest(knownPeopleWrite(ws, young.slice(0, 10)))).toBe(10);
      expect((await profileRowsRead()) - before).toBeLessThanOrEqual(10);
    });
  });
});
