import { randomUUID } from 'node:crypto';

import { Client } from 'pg';

import { loadDatabaseConfig } from '../../src/config/app-config';
import { Prisma } from '../../src/generated/prisma/client';
import { OUTBOX_VACUUM_DEAD_ROWS, OutboxRelayService } from '../../src/membership/outbox-relay.service';
import { ClaimedChange, ProfileChangesRepository } from '../../src/membership/profile-changes.repository';
import { PrismaService } from '../../src/prisma/prisma.service';
import { createTestDatabase, TestDatabase, withOneConnection } from '../support/database';
import { waitFor } from '../support/wait-for';

/** The outbox as a queue: claim order, the bulk reserve, leases, SKIP LOCKED, the relay's listing. */
describe('ProfileChangesRepository', () => {
  let database: TestDatabase;
  let prisma: PrismaService;
  let sql: Client;
  let changes: ProfileChangesRepository;

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = new PrismaService(loadDatabaseConfig({ DATABASE_URL: database.url }));
    changes = new ProfileChangesRepository(prisma);
    sql = new Client({ connectionString: database.url });
    await sql.connect();
  });

  afterAll(async () => {
    await sql.end();
    await prisma.onModuleDestroy();
    await database.drop();
  });

  /** Outbox rows of one new profile id each (no profile rows: the outbox does not need them). */
  async function rows(workspaceId: string, lane: 'live' | 'bulk', count: number): Promise<string[]> {
    const result = await sql.query<{ profile_ids: string[] }>(
      `INSERT INTO profile_changes (workspace_id, profile_ids, lane)
       SELECT $1, ARRAY[gen_random_uuid()], $2::change_lane FROM generate_series(1, $3::int) RETURNING profile_ids`,
      [workspaceId, lane, count],
    );
    return result.rows.map((r) => r.profile_ids[0]!);
  }

  /** An outbox row per entry of `sizes`, in order, listing that many new profile ids; answers each row's ids. */
  async function rowsOf(workspaceId: string, lane: 'live' | 'bulk', sizes: number[]): Promise<string[][]> {
    const result = await sql.query<{ profile_ids: string[] }>(
      `INSERT INTO profile_changes (workspace_id, profile_ids, lane)
       SELECT $1, ARRAY(SELECT gen_random_uuid() FROM generate_series(1, r.n)), $2::change_lane
       FROM unnest($3::int[]) WITH ORDINALITY AS r(n, position) ORDER BY r.position
       RETURNING profile_ids`,
      [workspaceId, lane, sizes],
    );
    return result.rows.map((r) => r.profile_ids);
  }

  /** The claimed profiles, row by row: the profiles of each row id, in the order the claim gave them. */
  function byRow(claimed: ClaimedChange[]): string[][] {
    const grouped = new Map<string, string[]>();
    for (const change of claimed) grouped.set(change.id, [...(grouped.get(change.id) ?? []), change.profileId]);
    return [...grouped.values()];
  }

  const claim = (workspaceId: string, limit: number, bulkReserve = 2, leaseMs = 60_000) =>
    changes.claim({ workspaceId, limit, bulkReserve, leaseMs });

  it('takes live rows in order, keeps the bulk reserve of a full batch, and fills up with bulk', async () => {
    const ws = randomUUID();
    const bulk = await rows(ws, 'bulk', 15);
    const live = await rows(ws, 'live', 15);

    const first = await claim(ws, 10);
    expect(first.filter((c) => c.lane === 'live').map((c) => c.profileId)).toEqual(live.slice(0, 8));
    expect(first.filter((c) => c.lane === 'bulk').map((c) => c.profileId)).toEqual(bulk.slice(0, 2));

    // 7 live left: they all go, bulk fills the batch.
    const second = await claim(ws, 10);
    expect(second.filter((c) => c.lane === 'live').map((c) => c.profileId)).toEqual(live.slice(8));
    expect(second.filter((c) => c.lane === 'bulk').map((c) => c.profileId)).toEqual(bulk.slice(2, 5));

    const rest = await claim(ws, 100);
    expect(rest.map((c) => c.profileId)).toEqual(bulk.slice(5));
    expect(await claim(ws, 100)).toEqual([]);
    expect(await changes.hasClaimable(ws)).toBe(false);
  });

  it('claims whole rows, counting the limit in profiles, past it by less than the last row', async () => {
    const ws = randomUUID();
    const live = await rowsOf(ws, 'live', [3, 4, 5, 2]);

    // 3 profiles are short of 6: the next row goes whole (7), and none after it.
    expect(byRow(await claim(ws, 6, 0))).toEqual([live[0], live[1]]);
    // Exactly the limit: the next row would start past it.
    expect(byRow(await claim(ws, 5, 0))).toEqual([live[2]]);
    // A row larger than the limit still goes, whole.
    expect(byRow(await claim(ws, 1, 0))).toEqual([live[3]]);
    expect(await claim(ws, 100, 0)).toEqual([]);
  });

  it('keeps the bulk reserve and fills up with bulk in profiles, whole rows of either lane', async () => {
    const ws = randomUUID();
    const bulk = await rowsOf(ws, 'bulk', [4, 4, 4]);
    const live = await rowsOf(ws, 'live', [3, 3, 3, 3]);

    // Live may take 10 − 2 reserved = 8 profiles: three rows (9); bulk the 1 left: its first row (4).
    const first = await claim(ws, 10, 2);
    expect(byRow(first.filter((c) => c.lane === 'live'))).toEqual(live.slice(0, 3));
    expect(byRow(first.filter((c) => c.lane === 'bulk'))).toEqual(bulk.slice(0, 1));
    expect(first).toHaveLength(13);

    // 3 live left: they go, and bulk fills the batch with every row that starts within the 7 left (11).
    const second = await claim(ws, 10, 2);
    expect(byRow(second.filter((c) => c.lane === 'live'))).toEqual(live.slice(3));
    expect(byRow(second.filter((c) => c.lane === 'bulk'))).toEqual(bulk.slice(1));
    // In row id order: the import's rows were queued first.
    expect(byRow(second)).toEqual([bulk[1], bulk[2], live[3]]);
    expect(await changes.hasClaimable(ws)).toBe(false);
  });

  it("returns each profile of a claimed row under the row's id, and completes, renews and releases rows", async () => {
    const ws = randomUUID();
    const [one, two] = await rowsOf(ws, 'bulk', [3, 2]);
    const claimed = await claim(ws, 100, 0);
    const [first, second] = [claimed[0]!.id, claimed[3]!.id];
    expect(first).not.toBe(second);
    expect(claimed).toEqual(
      [
        ...one!.map((profileId) => ({ id: first, profileId })),
        ...two!.map((profileId) => ({ id: second, profileId })),
      ].map((change) => ({ ...change, lane: 'bulk', createdAt: expect.any(Date) })),
    );
    expect(Number(second)).toBeGreaterThan(Number(first));

    // A row is released, renewed and completed as a whole, by its id.
    await changes.release(ws, [second], 0);
    await waitFor(async () => (await changes.hasClaimable(ws)) === true, { what: 'the 0 ms pause to pass' });
    expect(byRow(await claim(ws, 100, 0))).toEqual([two]);
    await changes.renew(ws, [first, second], 60_000);
    expect(await claim(ws, 100, 0)).toEqual([]);
    await changes.complete(ws, [first]);
    const { rows: left } = await sql.query<{ id: string; profile_ids: string[] }>(
      'SELECT id::text, profile_ids FROM profile_changes WHERE workspace_id = $1',
      [ws],
    );
    expect(left).toEqual([{ id: second, profile_ids: two }]);
  });

  it("applies the first/last seen of the claimed profiles' events in the same statement, where they move", async () => {
    const ws = randomUUID();
    const source = randomUUID();
    await sql.query(`INSERT INTO workspaces (id, name) VALUES ($1, 'seen')`, [ws]);
    await sql.query(`INSERT INTO sources (id, workspace_id, name, write_key) VALUES ($1, $2, 'seen', $3)`, [
      source,
      ws,
      `seen-${source}`,
    ]);
    const t0 = '2026-03-01T12:00:00.000Z';
    const profile = async () =>
      (
        await sql.query<{ id: string }>(
          `INSERT INTO profiles (id, workspace_id, first_seen_at, last_seen_at, updated_at)
           VALUES (gen_random_uuid(), $1, $2, $2, $2) RETURNING id`,
          [ws, t0],
        )
      ).rows[0]!.id;
    const [seen, untouched, unclaimed] = [await profile(), await profile(), await profile()];
    // What ingestion leaves: a known profile's events, its row as it was.
    const events = (id: string, ...timestamps: string[]) =>
      sql.query(
        `INSERT INTO events (workspace_id, profile_id, source_id, message_id, type, name, timestamp, received_at)
         SELECT $1, $2, $3, gen_random_uuid()::text, 'track', 'Seen', t, t FROM unnest($4::timestamptz[]) AS t`,
        [ws, id, source, timestamps],
      );
    const queue = (lane: string, ids: string[]) =>
      sql.query(
        'INSERT INTO profile_changes (workspace_id, profile_ids, lane) VALUES ($1, $2::uuid[], $3::change_lane)',
        [ws, ids, lane],
      );
    await events(seen, '2026-03-01T13:00:00.000Z', '2026-03-01T14:00:00.000Z');
    await events(untouched, t0);
    await queue('live', [seen, untouched]);
    // Not claimed below, yet applied with the first: one update per profile, from all its events.
    await events(seen, '2026-02-01T00:00:00.000Z', '2026-03-01T12:30:00.000Z');
    await queue('bulk', [seen]);
    // Events of a profile no claimed row lists: left for its own claim.
    await events(unclaimed, '2026-01-01T00:00:00.000Z');
    await queue('bulk', [unclaimed]);

    expect((await claim(ws, 2, 0)).map((c) => c.profileId)).toEqual([seen, untouched]);
    const stored = async () =>
      (
        await sql.query<{ id: string; first: Date; last: Date; updated: Date }>(
          `SELECT id, first_seen_at AS first, last_seen_at AS last, updated_at AS updated FROM profiles
           WHERE workspace_id = $1 ORDER BY array_position($2::uuid[], id)`,
          [ws, [seen, untouched, unclaimed]],
        )
      ).rows.map((p) => [p.id, p.first.toISOString(), p.last.toISOString(), p.updated.getTime() === Date.parse(t0)]);
    expect(await stored()).toEqual([
      [seen, '2026-02-01T00:00:00.000Z', '2026-03-01T14:00:00.000Z', false],
      [untouched, t0, t0, true],
      [unclaimed, t0, t0, true],
    ]);

    // A full computation's scope: every queued profile; only the unclaimed one still moves, once.
    expect(await changes.applySeen({ workspaceId: ws, all: true })).toBe(1);
    expect(await changes.applySeen({ workspaceId: ws, all: true })).toBe(0);
    expect(await changes.applySeen({ workspaceId: ws, profileIds: [seen, untouched, unclaimed] })).toBe(0);
    expect((await stored())[2]).toEqual([unclaimed, '2026-01-01T00:00:00.000Z', t0, false]);
  });

  it('leaves claimed rows alone until they are released, completed or their lease runs out', async () => {
    const ws = randomUUID();
    await rows(ws, 'live', 3);
    const leased = await claim(ws, 1, 0, 60_000);
    const released = await claim(ws, 1, 0, 60_000);
    // Only the row nobody holds; its lease is 1 ms.
    const short = await claim(ws, 10, 0, 1);
    expect(short).toHaveLength(1);
    expect([...leased, ...released].map((c) => c.id)).not.toContain(short[0]!.id);

    await changes.release(
      ws,
      released.map((c) => c.id),
      0,
    );
    await waitFor(
      async () =>
        (
          await sql.query(
            'SELECT 1 FROM profile_changes WHERE workspace_id = $1 AND (claimed_until IS NULL OR claimed_until < now())',
            [ws],
          )
        ).rowCount === 2,
      { what: 'the 1 ms lease and the 0 ms pause to pass' },
    );
    const again = await claim(ws, 10, 0, 60_000);
    expect(again.map((c) => c.id).sort()).toEqual([...short, ...released].map((c) => c.id).sort());

    await changes.complete(
      ws,
      [...leased, ...again].map((c) => c.id),
    );
    expect((await sql.query('SELECT 1 FROM profile_changes WHERE workspace_id = $1', [ws])).rowCount).toBe(0);
  });

  /** The plans (EXPLAIN on `database`, not run) of the statements `work` sends through a repository. */
  async function plansOf(
    work: (repository: ProfileChangesRepository) => Promise<unknown>,
    database: PrismaService = prisma,
  ): Promise<unknown[]> {
    const plans: unknown[] = [];
    // The repository only sends statements through `query`.
    const explaining = {
      query: async (statement: Prisma.Sql): Promise<unknown[]> => {
        const [row] = await database.query<{ 'QUERY PLAN': unknown }>(Prisma.sql`EXPLAIN (FORMAT JSON) ${statement}`);
        plans.push(row!['QUERY PLAN']);
        return [];
      },
    } as unknown as PrismaService;
    await work(new ProfileChangesRepository(explaining));
    return plans;
  }

  /** Every index a plan reads. */
  function indexesOf(plan: unknown): string[] {
    if (Array.isArray(plan)) return plan.flatMap(indexesOf);
    if (plan === null || typeof plan !== 'object') return [];
    return Object.entries(plan).flatMap(([key, value]) =>
      key === 'Index Name' && typeof value === 'string' ? [value] : indexesOf(value),
    );
  }

  it("completes, renews and releases a batch's rows by primary key, however long its workspace's queue", async () => {
    const ws = randomUUID();
    await rows(ws, 'live', 100_000);
    const ids = (await claim(ws, 500)).map((c) => c.id);
    const statements = (repository: ProfileChangesRepository) =>
      Promise.all([
        repository.complete(ws, ids),
        repository.renew(ws, ids, 60_000),
        repository.release(ws, ids, 1_000),
      ]);

    // Without statistics (as here, autovacuum off) and with them: the workspace's queue is never scanned.
    for (const plans of [
      await plansOf(statements),
      (await sql.query('ANALYZE profile_changes'), await plansOf(statements)),
    ]) {
      expect(plans).toHaveLength(3);
      for (const plan of plans) expect(indexesOf(plan)).toEqual(['profile_changes_pkey']);
    }
  });

  /** Scans of a table that no index condition narrows: `Seq Scan on t`, or an index read end to end. */
  function unconditionedScans(plan: unknown): string[] {
    if (Array.isArray(plan)) return plan.flatMap(unconditionedScans);
    if (plan === null || typeof plan !== 'object') return [];
    const node = plan as Record<string, unknown>;
    const relation = node['Relation Name'];
    const own =
      typeof relation === 'string' &&
      /Scan$/.test(String(node['Node Type'])) &&
      !('Index Cond' in node) &&
      !('Recheck Cond' in node)
        ? [
            `${String(node['Node Type'])} on ${relation} as ${String(node['Alias'])} ${JSON.stringify(node['Index Name'] ?? '')}`,
          ]
        : [];
    return [...own, ...Object.values(node).flatMap(unconditionedScans)];
  }

  it('plans each claim for the outbox as it is then, never with a plan kept from when it was small', async () => {
    // A worker's connection kept its prepared claim: a generic plan made while the outbox was
    // nearly empty (after a drain) was used again at 200,000 rows and read the whole table once per
    // row claimed (21 s a claim in bench:realtime). Queued small, claimed often, then queued large.
    await withOneConnection(async (single) => {
      const repository = new ProfileChangesRepository(single);
      const ws = randomUUID();
      await single.query(Prisma.sql`INSERT INTO workspaces (id, name) VALUES (${ws}::uuid, 'small then large')`);
      await single.query(
        Prisma.sql`INSERT INTO sources (id, workspace_id, name, write_key)
                   VALUES (${ws}::uuid, ${ws}::uuid, 'plans', ${ws})`,
      );
      // Each profile with events a day either side of its first/last seen, in five rows of ten profiles.
      const queue = (profiles: number) =>
        single.query(Prisma.sql`
          WITH added AS (
            INSERT INTO profiles (id, workspace_id, first_seen_at, last_seen_at)
            SELECT gen_random_uuid(), ${ws}::uuid, now(), now() FROM generate_series(1, ${profiles}::int) RETURNING id
          ),
          numbered AS (SELECT id, row_number() OVER () - 1 AS n FROM added),
          happened AS (
            INSERT INTO events (workspace_id, profile_id, source_id, message_id, type, name, timestamp, received_at)
            SELECT ${ws}::uuid, id, ${ws}::uuid, gen_random_uuid()::text, 'track', 'Seen',
                   now() + d.days * interval '1 day', now()
            FROM added, unnest(ARRAY[-1, 1]) AS d(days)
          )
          INSERT INTO profile_changes (workspace_id, profile_ids, lane)
          SELECT ${ws}::uuid, array_agg(id), 'bulk' FROM numbered, generate_series(1, 5) AS round
          GROUP BY round, n / 10 ORDER BY round, n / 10`);
      const request = { workspaceId: ws, limit: 50, bulkReserve: 5, leaseMs: 1 };
      await queue(20);
      await single.query(Prisma.sql`ANALYZE profile_changes, events`);
      for (let i = 0; i < 10; i += 1) await repository.claim(request);
      await queue(20_000);
      expect((await repository.claim(request)).length).toBe(50);

      // The one connection holds no prepared claim, so every claim was planned afresh …
      const prepared = await single.query<{ statement: string }>(
        Prisma.sql`SELECT statement FROM pg_prepared_statements`,
      );
      expect(prepared.filter((p) => p.statement.includes('FOR UPDATE SKIP LOCKED'))).toEqual([]);
      // … and planned afresh at this size, it reads both tables through index conditions.
      const [plan] = await plansOf((repository) => repository.claim(request), single);
      // The oldest rows of a lane (sized unlocked, then locked) may come from an index read in id
      // order, stopped at the limit: four such reads at most, two per lane.
      const scans = unconditionedScans(plan);
      const unbounded = scans.filter((scan) => !/^Index Scan on profile_changes as profile_changes(_\d)? /.test(scan));
      expect(scans.length - unbounded.length).toBeLessThanOrEqual(4);
      expect(unbounded).toEqual([]);
    });
  });

  it('is vacuumed by the relay once its dead rows pass the threshold, and not before', async () => {
    // vacuumOnce needs only the outbox; the relay's queueing side is not used here.
    const relay = new OutboxRelayService(changes, {} as never, {} as never, {} as never);
    const ws = randomUUID();
    await rows(ws, 'live', OUTBOX_VACUUM_DEAD_ROWS);
    for (let left = true; left;) {
      const batch = await claim(ws, 5_000);
      await changes.complete(
        ws,
        batch.map((c) => c.id),
      );
      left = batch.length > 0;
    }
    // Each row left a claimed and a deleted version; backends report them within about a second.
    await waitFor(async () => (await changes.deadRows()) >= OUTBOX_VACUUM_DEAD_ROWS, {
      what: 'Postgres to count the dead rows',
    });

    expect(await relay.vacuumOnce()).toEqual({ deadRows: expect.any(Number), vacuumed: true });
    await waitFor(async () => (await changes.deadRows()) < OUTBOX_VACUUM_DEAD_ROWS, {
      what: 'the vacuum to be counted',
    });
    expect(await relay.vacuumOnce()).toEqual({ deadRows: expect.any(Number), vacuumed: false });
  });

  it('gives concurrent claimers of one workspace different rows', async () => {
    const ws = randomUUID();
    await rows(ws, 'live', 200);
    const claims = await Promise.all(Array.from({ length: 4 }, () => claim(ws, 60, 0)));
    const ids = claims.flat().map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(200);
  });

  it('gives concurrent claimers rows of several profiles whole, each to one claimer', async () => {
    const ws = randomUUID();
    const queued = await rowsOf(
      ws,
      'live',
      Array.from({ length: 80 }, (_, i) => 1 + (i % 5)),
    );
    const claims = await Promise.all(Array.from({ length: 4 }, () => claim(ws, 60, 0)));
    // Claimers that found rows locked by another skip them; what is left is there for the next.
    const all = [...claims, await claim(ws, 1_000, 0)];
    const rowsTaken = all.map((taken) => byRow(taken));
    expect(rowsTaken.flat().sort()).toEqual([...queued].sort());
    const ids = all.map((taken) => [...new Set(taken.map((c) => c.id))]).flat();
    expect(new Set(ids).size).toBe(queued.length);
  });

  it('locks only the rows it takes: a claimer meanwhile takes the next ones, in order', async () => {
    const ws = randomUUID();
    const queued = await rowsOf(
      ws,
      'live',
      Array.from({ length: 20 }, () => 10),
    );
    const holder = new Client({ connectionString: database.url });
    await holder.connect();
    try {
      // The claim in a transaction left open, so its row locks stay while the others look.
      await holder.query('BEGIN');
      const holding = {
        query: async (statement: Prisma.Sql): Promise<unknown[]> =>
          (await holder.query<Record<string, unknown>>(statement.text, statement.values)).rows,
      } as unknown as PrismaService;
      const held = await new ProfileChangesRepository(holding).claim({
        workspaceId: ws,
        limit: 30,
        bulkReserve: 0,
        leaseMs: 60_000,
      });
      expect(byRow(held)).toEqual(queued.slice(0, 3));
      const { rows: free } = await sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (SELECT id FROM profile_changes WHERE workspace_id = $1 FOR UPDATE SKIP LOCKED) x`,
        [ws],
      );
      expect(free).toEqual([{ n: 17 }]);
      expect(byRow(await claim(ws, 30, 0))).toEqual(queued.slice(3, 6));
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });

  it('lists the workspaces that have claimable rows, one probe each', async () => {
    const [idle, waiting, busy] = [randomUUID(), randomUUID(), randomUUID()];
    await rows(waiting, 'bulk', 3);
    await rows(busy, 'live', 2);
    await claim(busy, 10);
    const listed = await changes.workspacesWithClaimableChanges();
    expect(listed).toContain(waiting);
    expect(listed).not.toContain(busy);
    expect(listed).not.toContain(idle);
  });
});
