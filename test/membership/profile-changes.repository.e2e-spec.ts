import { randomUUID } from 'node:crypto';

import { Client } from 'pg';

import { loadDatabaseConfig } from '../../src/config/app-config';
import { Prisma } from '../../src/generated/prisma/client';
import { OUTBOX_VACUUM_DEAD_ROWS, OutboxRelayService } from '../../src/membership/outbox-relay.service';
import { ProfileChangesRepository } from '../../src/membership/profile-changes.repository';
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

  /** Outbox rows for new profile ids (no profile rows: the outbox does not need them). */
  async function rows(workspaceId: string, lane: 'live' | 'bulk', count: number): Promise<string[]> {
    const result = await sql.query<{ profile_id: string }>(
      `INSERT INTO profile_changes (workspace_id, profile_id, lane)
       SELECT $1, gen_random_uuid(), $2::change_lane FROM generate_series(1, $3::int) RETURNING profile_id`,
      [workspaceId, lane, count],
    );
    return result.rows.map((r) => r.profile_id);
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

  it('applies every pending first/last seen of the profiles it claims, in the same statement', async () => {
    const ws = randomUUID();
    await sql.query(`INSERT INTO workspaces (id, name) VALUES ($1, 'seen')`, [ws]);
    const t0 = '2026-03-01T12:00:00.000Z';
    const profile = async () =>
      (
        await sql.query<{ id: string }>(
          `INSERT INTO profiles (id, workspace_id, first_seen_at, last_seen_at) VALUES (gen_random_uuid(), $1, $2, $2)
           RETURNING id`,
          [ws, t0],
        )
      ).rows[0]!.id;
    const [seen, untouched] = [await profile(), await profile()];
    const pending = (id: string, lane: string, first: string | null, last: string | null) =>
      sql.query(
        `INSERT INTO profile_changes (workspace_id, profile_id, lane, first_seen_at, last_seen_at)
         VALUES ($1, $2, $3::change_lane, $4, $5)`,
        [ws, id, lane, first, last],
      );
    await pending(seen, 'live', '2026-03-01T13:00:00.000Z', '2026-03-01T14:00:00.000Z');
    await pending(untouched, 'live', null, null);
    // Not claimed below, yet applied with the first: one update per profile, whatever its rows.
    await pending(seen, 'bulk', '2026-02-01T00:00:00.000Z', '2026-03-01T12:30:00.000Z');

    expect((await claim(ws, 2, 0)).map((c) => c.profileId)).toEqual([seen, untouched]);
    const { rows: after } = await sql.query<{ id: string; first: Date; last: Date }>(
      'SELECT id, first_seen_at AS first, last_seen_at AS last FROM profiles WHERE workspace_id = $1 ORDER BY id = $2 DESC',
      [ws, seen],
    );
    expect(after.map((p) => [p.id, p.first.toISOString(), p.last.toISOString()])).toEqual([
      [seen, '2026-02-01T00:00:00.000Z', '2026-03-01T14:00:00.000Z'],
      [untouched, t0, t0],
    ]);
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
      const queue = (profiles: number) =>
        single.query(Prisma.sql`
          WITH added AS (
            INSERT INTO profiles (id, workspace_id, first_seen_at, last_seen_at)
            SELECT gen_random_uuid(), ${ws}::uuid, now(), now() FROM generate_series(1, ${profiles}::int) RETURNING id
          )
          INSERT INTO profile_changes (workspace_id, profile_id, lane, first_seen_at, last_seen_at)
          SELECT ${ws}::uuid, id, 'bulk', now() - interval '1 day', now() + interval '1 day'
          FROM added, generate_series(1, 5)`);
      const request = { workspaceId: ws, limit: 50, bulkReserve: 5, leaseMs: 1 };
      await queue(20);
      await single.query(Prisma.sql`ANALYZE profile_changes`);
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
      // The oldest rows of a lane may come from an index read in id order, stopped at the limit.
      const unbounded = unconditionedScans(plan).filter(
        (scan) => !/^Index Scan on profile_changes as profile_changes(_1)? /.test(scan),
      );
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
