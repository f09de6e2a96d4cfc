/**
 * Audience SQL on a database where ANALYZE never ran (autovacuum off, the tables' statistics
 * empty): every estimate is about one row, and plans that depend on statistics multiply one
 * profile's events by everyone's. Each definition must still finish, and pick the profiles the
 * reference evaluator picks; the statement timeout turns "takes minutes" into a failure. Covers
 * whole-workspace counts (computations, previews) and the real-time path (a few profiles, events
 * restricted to theirs by MembershipRepository.applyDiff, and every audience of a batch in one
 * statement by MembershipRepository.applyBatchDiff).
 */
import { randomUUID } from 'node:crypto';

import { AudienceAst } from '../../src/audiences/language/audience-ast';
import { parseAudience } from '../../src/audiences/language/audience-parser';
import { compileAudiencePredicate } from '../../src/audiences/language/compiler/audience-compiler';
import { loadDatabaseConfig } from '../../src/config/app-config';
import { InteractiveDatabase } from '../../src/database/interactive-database';
import { Prisma, PrismaClient } from '../../src/generated/prisma/client';
import { MembershipRepository } from '../../src/membership/membership.repository';
import { PrismaService } from '../../src/prisma/prisma.service';
import { evaluateAudience, EvaluatorData, EvaluatorEvent } from '../oracles/reference-evaluator';
import { createTestPrisma, TestPrisma } from '../support/database';

const NOW = new Date('2026-11-22T12:00:00.000Z');
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** Generous: with statistics each statement takes milliseconds; without the fix, minutes. */
const STATEMENT_TIMEOUT = '20s';
/** The transactions outlive their statement's limit (Prisma's default of 5 s is shorter on a busy machine). */
const TRANSACTION = { maxWait: 10_000, timeout: 25_000 };

const NAMES = ['Product Added', 'Order Completed', 'Signed Up', 'Project Created', 'Invite Sent', 'Tutorial Viewed'];
const TEN_STEPS = [
  'Signed Up',
  'Project Created',
  'Product Added',
  'Product Added',
  'Order Completed',
  'Product Added',
  'Invite Sent',
  'Product Added',
  'Order Completed',
  'Product Added',
];

const DEFINITIONS = [
  'performed "Product Added" then not performed "Product Added"',
  'performed "Product Added" then not performed "Order Completed" within 1 hour',
  'performed "Signed Up" then performed "Project Created" then not performed "Invite Sent" within 7 days',
  TEN_STEPS.map((name) => `performed "${name}"`).join(' then '),
  `${TEN_STEPS.map((name) => `performed "${name}"`).join(' then ')} within 30 days`,
  'never performed "Tutorial Viewed" and inactive 3 days',
  'performed "Product Added" at most 2 times or not performed "Order Completed" within 10 days',
  'not (performed "Signed Up") and active within 20 days',
];

/**
 * 100 `or` × 50 filters, a valid definition of about 80 KB: condition i matches the events whose
 * one odd property (see seed) is k(i mod 50).
 */
function largeDefinition(): string {
  const filters = (i: number) =>
    Array.from({ length: 50 }, (_, j) => `k${j} = "${j === i % 50 ? 'odd' : 'usual'}"`).join(' and ');
  return Array.from({ length: 100 }, (_, i) => `performed "Product Added" where (${filters(i)})`).join(' or ');
}

/** A small deterministic generator, so that a failure can be replayed. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

interface Seeded {
  workspaceId: string;
  data: EvaluatorData;
  heavy: string[];
}

describe('audience SQL without statistics', () => {
  let testPrisma: TestPrisma;
  let prisma: PrismaClient;
  let seeded: Seeded;

  beforeAll(async () => {
    testPrisma = await createTestPrisma();
    prisma = testPrisma.prisma;
    // Whatever the server's autovacuum setting, these tables never get statistics here.
    await prisma.$executeRaw`ALTER TABLE events SET (autovacuum_enabled = false)`;
    await prisma.$executeRaw`ALTER TABLE profiles SET (autovacuum_enabled = false)`;
    seeded = await seed(prisma);
  }, 120_000);

  afterAll(() => testPrisma?.close());

  it('runs on tables that have no statistics', async () => {
    const rows = await prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stats WHERE tablename IN ('events', 'profiles')`;
    expect(rows[0]?.n).toBe(0);
  });

  it.each(DEFINITIONS)('%s', async (text) => {
    const ast = parseAudience(text);
    await expect(countMatching(ast)).resolves.toEqual(expected(ast));
  });

  it('answers a 65 KB definition of 100 conditions with 50 filters each', async () => {
    const text = largeDefinition();
    expect(text.length).toBeGreaterThan(60_000);
    const ast = parseAudience(text);
    const matching = expected(ast);
    expect(matching.length).toBeGreaterThan(0);
    await expect(countMatching(ast)).resolves.toEqual(matching);
  });

  it('evaluates sequences for a few heavy profiles as real-time evaluation does', async () => {
    const config = loadDatabaseConfig({ DATABASE_URL: testPrisma.database.url });
    const service = new PrismaService(config);
    const interactive = new InteractiveDatabase(config);
    const repository = new MembershipRepository(service, interactive, config);
    try {
      for (const text of DEFINITIONS.slice(0, 5)) {
        const ast = parseAudience(text);
        const audienceId = randomUUID();
        await prisma.$executeRaw`
          INSERT INTO audiences (id, workspace_id, key, name, definition_ast, definition_text)
          VALUES (${audienceId}::uuid, ${seeded.workspaceId}::uuid, ${audienceId}, 'heavy', '{}', ${text})`;
        const predicate = compileAudiencePredicate(ast, { workspaceId: seeded.workspaceId, now: NOW });
        await service.$transaction(async (tx) => {
          await tx.$executeRaw`SELECT set_config('statement_timeout', ${STATEMENT_TIMEOUT}, true)`;
          await repository.applyDiff(tx, {
            audienceId,
            workspaceId: seeded.workspaceId,
            version: 1,
            now: NOW,
            predicate,
            profileIds: seeded.heavy,
          });
        }, TRANSACTION);
        const members = await prisma.$queryRaw<{ id: string }[]>`
          SELECT profile_id::text AS id FROM audience_members WHERE audience_id = ${audienceId}::uuid ORDER BY 1`;
        const heavy = new Set(seeded.heavy);
        expect(members.map((m) => m.id)).toEqual(expected(ast).filter((id) => heavy.has(id)));
      }
    } finally {
      await service.onModuleDestroy();
      await interactive.onModuleDestroy();
    }
  });

  it('evaluates every definition over a batch of profiles in one statement, as real-time batches do', async () => {
    const config = loadDatabaseConfig({ DATABASE_URL: testPrisma.database.url });
    const service = new PrismaService(config);
    const interactive = new InteractiveDatabase(config);
    const repository = new MembershipRepository(service, interactive, config);
    // The heavy profiles and a hundred light ones: a batch as the outbox hands it over.
    const rows = await prisma.$queryRaw<{ id: string }[]>`
      SELECT id::text AS id FROM profiles WHERE workspace_id = ${seeded.workspaceId}::uuid ORDER BY id LIMIT 100`;
    const batch = [...new Set([...seeded.heavy, ...rows.map((r) => r.id)])];
    try {
      const audiences: {
        audienceId: string;
        version: number;
        stage: number;
        predicate: Prisma.Sql;
        ast: AudienceAst;
      }[] = [];
      for (const text of DEFINITIONS) {
        const ast = parseAudience(text);
        const audienceId = randomUUID();
        await prisma.$executeRaw`
          INSERT INTO audiences (id, workspace_id, key, name, definition_ast, definition_text)
          VALUES (${audienceId}::uuid, ${seeded.workspaceId}::uuid, ${audienceId}, 'batch', '{}', ${text})`;
        const predicate = compileAudiencePredicate(ast, { workspaceId: seeded.workspaceId, now: NOW, batch: true });
        audiences.push({ audienceId, version: 1, stage: 0, predicate, ast });
      }
      await service.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT set_config('statement_timeout', ${STATEMENT_TIMEOUT}, true)`;
        await repository.applyBatchDiff(tx, {
          workspaceId: seeded.workspaceId,
          now: NOW,
          profileIds: batch,
          audiences,
        });
      }, TRANSACTION);
      const inBatch = new Set(batch);
      for (const { audienceId, ast } of audiences) {
        const members = await prisma.$queryRaw<{ id: string }[]>`
          SELECT profile_id::text AS id FROM audience_members WHERE audience_id = ${audienceId}::uuid ORDER BY 1`;
        expect(members.map((m) => m.id)).toEqual(expected(ast).filter((id) => inBatch.has(id)));
      }
    } finally {
      await service.onModuleDestroy();
      await interactive.onModuleDestroy();
    }
  });

  async function countMatching(ast: AudienceAst): Promise<string[]> {
    const predicate = compileAudiencePredicate(ast, { workspaceId: seeded.workspaceId, now: NOW });
    return prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT set_config('statement_timeout', ${STATEMENT_TIMEOUT}, true)`;
      const rows = await tx.$queryRaw<{ id: string }[]>(
        Prisma.sql`SELECT p.id::text AS id FROM profiles p WHERE p.workspace_id = ${seeded.workspaceId}::uuid AND p.merged_into_id IS NULL AND ${predicate} ORDER BY 1`,
      );
      return rows.map((r) => r.id);
    }, TRANSACTION);
  }

  function expected(ast: AudienceAst): string[] {
    return evaluateAudience(ast, seeded.data, { now: NOW }).sort();
  }
});

/**
 * 300 profiles with a few events each and 3 with 400 each (all of the sequences' names, so that
 * every step has many candidates), over the last 30 days; properties k0…k49 for the large definition.
 */
async function seed(prisma: PrismaClient): Promise<Seeded> {
  const random = lcg(12);
  const workspaceId = randomUUID();
  await prisma.$executeRaw`INSERT INTO workspaces (id, name) VALUES (${workspaceId}::uuid, 'no statistics')`;
  const profiles = Array.from({ length: 303 }, (_, i) => ({ id: randomUUID(), heavy: i >= 300 }));
  const events: EvaluatorEvent[] = [];
  for (const profile of profiles) {
    const count = profile.heavy ? 400 : 1 + Math.floor(random() * 8);
    for (let i = 0; i < count; i++) {
      // One property in 60 (none for a sixth of the events) holds the odd value.
      const odd = Math.floor(random() * 60);
      const properties = Object.fromEntries(
        Array.from({ length: 50 }, (_, j) => [`k${j}`, j === odd ? 'odd' : 'usual']),
      );
      events.push({
        profileId: profile.id,
        type: 'track',
        name: NAMES[Math.floor(random() * NAMES.length)] ?? 'Product Added',
        properties,
        timestamp: new Date(NOW.getTime() - Math.floor(random() * 30 * DAY)),
      });
    }
  }
  const profileRows = profiles.map((p) => {
    const times = events.filter((e) => e.profileId === p.id).map((e) => e.timestamp.getTime());
    return {
      id: p.id,
      first_seen_at: new Date(Math.min(...times)).toISOString(),
      last_seen_at: new Date(Math.max(...times)).toISOString(),
    };
  });
  await prisma.$executeRaw`
    INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
    SELECT r.id, ${workspaceId}::uuid, '{}', r.first_seen_at, r.last_seen_at
    FROM jsonb_to_recordset(${JSON.stringify(profileRows)}::jsonb) AS r(id uuid, first_seen_at timestamptz, last_seen_at timestamptz)`;
  const eventRows = events.map((e) => ({
    profile_id: e.profileId,
    name: e.name,
    properties: e.properties,
    timestamp: e.timestamp.toISOString(),
    message_id: randomUUID(),
  }));
  for (let i = 0; i < eventRows.length; i += 2_000) {
    const chunk = JSON.stringify(eventRows.slice(i, i + 2_000));
    await prisma.$executeRaw`
      INSERT INTO events (workspace_id, profile_id, source_id, message_id, type, name, properties, timestamp, received_at)
      SELECT ${workspaceId}::uuid, r.profile_id, ${workspaceId}::uuid, r.message_id, 'track', r.name, r.properties, r.timestamp, r.timestamp
      FROM jsonb_to_recordset(${chunk}::jsonb) AS r(profile_id uuid, message_id text, name text, properties jsonb, timestamp timestamptz)`;
  }
  return {
    workspaceId,
    heavy: profiles
      .filter((p) => p.heavy)
      .map((p) => p.id)
      .sort(),
    data: {
      profiles: profileRows.map((p) => ({
        id: p.id,
        traits: {},
        firstSeenAt: new Date(p.first_seen_at),
        lastSeenAt: new Date(p.last_seen_at),
      })),
      events,
      memberships: new Map(),
    },
  };
}
