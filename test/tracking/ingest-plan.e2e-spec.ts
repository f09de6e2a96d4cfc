import { randomUUID } from 'node:crypto';

import { ManualClock, SystemClock } from '../../src/common/clock';
import { loadDatabaseConfig } from '../../src/config/app-config';
import { Prisma } from '../../src/generated/prisma/client';
import { PrismaService } from '../../src/prisma/prisma.service';
import { EventRow, IngestWrite, TrackingRepository } from '../../src/tracking/tracking.repository';
import { createTestDatabase, withOneConnection } from '../support/database';

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

async function addWorkspace(database: PrismaService, name: string): Promise<string> {
  const ws = randomUUID();
  await database.query(Prisma.sql`INSERT INTO workspaces (id, name) VALUES (${ws}::uuid, ${name})`);
  return ws;
}

async function addProfiles(database: PrismaService, ws: string, n: number): Promise<string[]> {
  const rows = await database.query<{ id: string }>(Prisma.sql`
    INSERT INTO profiles (id, workspace_id, first_seen_at, last_seen_at)
    SELECT gen_random_uuid(), ${ws}::uuid, now(), now() FROM generate_series(1, ${n}::int) RETURNING id`);
  return rows.map((row) => row.id);
}

/** Transactions this database rolled back so far; the one connection reports its own at once. */
async function rolledBack(database: PrismaService): Promise<number> {
  await database.query(Prisma.sql`SELECT pg_stat_force_next_flush()`);
  const [row] = await database.query<{ n: string }>(
    Prisma.sql`SELECT xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()`,
  );
  return Number(row?.n);
}

describe('The ingest statement', () => {
  it('reads only the profiles it writes about, with a plan prepared while the table was young', async () => {
    // The statement is prepared once per connection, and its generic plan is kept. Made while
    // `profiles` had a few hundred rows, "id = ANY(…)" scanned every profile of the table for each
    // request later on (7 ms a request at 22,000 profiles, bench:ingest with one client; here it
    // read all 20,600).
    await withOneConnection(async (single) => {
      const repository = new TrackingRepository(single, new SystemClock());
      const ws = await addWorkspace(single, 'young then grown');
      const young = await addProfiles(single, ws, 600);
      for (let i = 0; i < 10; i += 1)
        await repository.writeIngest(knownPeopleWrite(ws, young.slice(i * 50, (i + 1) * 50)));
      const [prepared] = await single.query<{ generic_plans: string }>(
        Prisma.sql`SELECT generic_plans FROM pg_prepared_statements WHERE name = 'tracking_write_ingest'`,
      );
      expect(Number(prepared?.generic_plans)).toBeGreaterThan(0);

      await addProfiles(single, ws, 20_000);
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

  it('assumes messageIds are new, and skips repeats at once for a source that just sent one', async () => {
    await withOneConnection(async (single) => {
      const clock = new ManualClock('2026-06-01T12:00:00Z');
      const repository = new TrackingRepository(single, clock);
      const ws = await addWorkspace(single, 'repeats');
      const [a, b, c] = await addProfiles(single, ws, 3);
      const first = knownPeopleWrite(ws, [a, b] as string[]);
      expect(await repository.writeIngest(first)).toBe(2);
      const before = await rolledBack(single);

      // A client retries the request with one event more: the insert that assumed new messageIds
      // hits the unique index and writes nothing, then the write skips the repeats.
      const [extra] = knownPeopleWrite(ws, [c] as string[]).events;
      const retry: IngestWrite = { ...first, events: [...first.events, extra as EventRow] };
      expect(await repository.writeIngest(retry)).toBe(1);
      expect((await rolledBack(single)) - before).toBe(1);

      // For a minute, that source's writes skip repeats from the start: nothing more is rolled back.
      clock.advance(59_000);
      expect(await repository.writeIngest(retry)).toBe(0);
      expect((await rolledBack(single)) - before).toBe(1);
      // Another source still gets the plain insert first.
      expect(await repository.writeIngest({ ...retry, sourceId: randomUUID() })).toBe(0);
      expect((await rolledBack(single)) - before).toBe(2);
      // And so does the first source, once the minute has passed.
      clock.advance(2_000);
      expect(await repository.writeIngest(retry)).toBe(0);
      expect((await rolledBack(single)) - before).toBe(3);

      // Inside a caller's transaction a failed statement would abort it: repeats are skipped at once.
      const inTransaction = knownPeopleWrite(ws, [a] as string[]);
      inTransaction.events.push(...first.events);
      const stored = await single.$transaction((tx) => repository.writeIngest(inTransaction, tx));
      expect(stored).toBe(1);
      expect((await rolledBack(single)) - before).toBe(3);

      const [events] = await single.query<{ n: number }>(
        Prisma.sql`SELECT count(*)::int AS n FROM events WHERE workspace_id = ${ws}::uuid`,
      );
      expect(events?.n).toBe(4);
    });
  });

  it('stores each messageId once when requests repeating each other run at the same time', async () => {
    const database = await createTestDatabase();
    const pool = new PrismaService(loadDatabaseConfig({ DATABASE_URL: database.url, DATABASE_POOL_SIZE: '4' }));
    try {
      const repository = new TrackingRepository(pool, new SystemClock());
      const ws = await addWorkspace(pool, 'concurrent repeats');
      const profiles = await addProfiles(pool, ws, 40);
      // Four clients send overlapping halves of the same 40 events, each in its own order.
      const all = knownPeopleWrite(ws, profiles);
      const part = (from: number, reverse: boolean): IngestWrite => {
        const events = all.events.slice(from, from + 20);
        return { ...all, sourceId: randomUUID(), events: reverse ? events.reverse() : events };
      };
      const counts = await Promise.all(
        [part(0, false), part(10, true), part(20, false), part(5, true)].map((w) => repository.writeIngest(w)),
      );
      expect(counts.reduce((sum, n) => sum + n, 0)).toBe(40);
      const [events] = await pool.query<{ n: number; distinct: number }>(
        Prisma.sql`SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS distinct FROM events WHERE workspace_id = ${ws}::uuid`,
      );
      expect(events).toEqual({ n: 40, distinct: 40 });
    } finally {
      await pool.onModuleDestroy();
      await database.drop();
    }
  });
});
