/**
 * `computed <key>`, `<key>_band` and `<key>_change_<N>d` over stored scores, SQL against a plain
 * reference: random score values, bands and snapshots of random profiles and accounts in a real
 * Postgres, random value tests on the three forms, at profile level (over `p`) and account level
 * (over `g`); both must select the same subjects. The change is the value now minus the latest
 * snapshot of a period starting at or before now − N days; without one there is no value.
 */
import { randomUUID } from 'node:crypto';

import fc from 'fast-check';

import { AudienceCondition } from '../../src/audiences/language/audience-ast';
import { printAudience } from '../../src/audiences/language/audience-printer';
import { compileAccountPredicate } from '../../src/audiences/language/compiler/account-conditions';
import { compileAudiencePredicate } from '../../src/audiences/language/compiler/audience-compiler';
import { Prisma, PrismaClient } from '../../src/generated/prisma/client';
import { valueTestHolds } from '../oracles/reference-evaluator';
import { createTestPrisma, TestPrisma } from '../support/database';

const NOW = new Date('2026-11-22T12:00:00.000Z');
const DAY = 86_400_000;
const KEY = 'adoption';
const BANDS = ['green', 'red'];

interface Subject {
  current: { value: number; band: string } | null;
  /** Snapshots by days before NOW their period started (0 to 30). */
  snapshots: { daysAgo: number; value: number }[];
}

const subject: fc.Arbitrary<Subject> = fc.record({
  current: fc.option(fc.record({ value: fc.integer({ min: 0, max: 100 }), band: fc.constantFrom(...BANDS) })),
  snapshots: fc.uniqueArray(
    fc.record({ daysAgo: fc.constantFrom(0, 6, 7, 8, 13, 14, 15, 28), value: fc.integer({ min: 0, max: 100 }) }),
    { selector: (s) => s.daysAgo, maxLength: 4 },
  ),
});

const condition: fc.Arbitrary<AudienceCondition> = fc.oneof(
  fc.record({
    type: fc.constant('computed' as const),
    trait: fc.constantFrom(KEY, `${KEY}_change_7d`, `${KEY}_change_14d`),
    op: fc.constantFrom('lt' as const, 'gte' as const, 'eq' as const),
    value: fc.constantFrom(-20, 0, 20, 50),
  }),
  fc.record({
    type: fc.constant('computed' as const),
    trait: fc.constant(`${KEY}_band`),
    op: fc.constantFrom('eq' as const, 'neq' as const),
    value: fc.constantFrom(...BANDS),
  }),
  fc.record({
    type: fc.constant('computed' as const),
    trait: fc.constant(`${KEY}_change_7d`),
    op: fc.constant('exists' as const),
  }),
);

/** What `computed <key>` reads for a subject, by the definition above. */
function referenceValue(key: string, s: Subject): unknown {
  if (!s.current) return undefined;
  if (key === KEY) return s.current.value;
  if (key === `${KEY}_band`) return s.current.band;
  const days = Number(/_change_(\d+)d$/.exec(key)![1]);
  const base = s.snapshots.filter((x) => x.daysAgo >= days).sort((a, b) => a.daysAgo - b.daysAgo)[0];
  return base === undefined ? undefined : s.current.value - base.value;
}

describe('score values read by audiences vs reference', () => {
  let testPrisma: TestPrisma;
  let prisma: PrismaClient;

  beforeAll(async () => {
    testPrisma = await createTestPrisma();
    prisma = testPrisma.prisma;
  });

  afterAll(() => testPrisma?.close());

  it('selects the same profiles and accounts', async () => {
    let discriminating = 0;
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('profile' as const, 'account' as const),
        fc.array(subject, { minLength: 2, maxLength: 5 }),
        fc.array(condition, { minLength: 8, maxLength: 8 }),
        async (level, subjects, conditions) => {
          const workspaceId = randomUUID();
          const scoreId = randomUUID();
          const ids = subjects.map(() => randomUUID());
          await prisma.$executeRaw`INSERT INTO workspaces (id, name) VALUES (${workspaceId}::uuid, 'score readers')`;
          await prisma.$executeRaw`
            INSERT INTO scores (id, workspace_id, key, name, level, components, bands)
            VALUES (${scoreId}::uuid, ${workspaceId}::uuid, ${KEY}, 'x', ${level}::subject_level, '[]', '[]')`;
          for (const [i, s] of subjects.entries()) {
            const id = ids[i]!;
            if (level === 'profile') {
              await prisma.$executeRaw`INSERT INTO profiles (id, workspace_id, first_seen_at, last_seen_at) VALUES (${id}::uuid, ${workspaceId}::uuid, now(), now())`;
            } else {
              await prisma.$executeRaw`INSERT INTO groups (id, workspace_id, group_id) VALUES (${id}::uuid, ${workspaceId}::uuid, ${`g${i}`})`;
            }
            if (s.current) {
              await prisma.$executeRaw`
                INSERT INTO score_values (score_id, workspace_id, subject_id, value, band, computed_at)
                VALUES (${scoreId}::uuid, ${workspaceId}::uuid, ${id}::uuid, ${s.current.value}::int, ${s.current.band}, now())`;
            }
            for (const x of s.snapshots) {
              const periodStart = new Date(NOW.getTime() - x.daysAgo * DAY).toISOString();
              await prisma.$executeRaw`
                INSERT INTO score_snapshots (score_id, period_start, subject_id, workspace_id, value, band)
                VALUES (${scoreId}::uuid, ${periodStart}::timestamptz, ${id}::uuid, ${workspaceId}::uuid, ${x.value}::int, 'red')`;
            }
          }
          for (const ast of conditions) {
            const ctx = { workspaceId, now: NOW };
            const rows =
              level === 'profile'
                ? await prisma.$queryRaw<{ id: string }[]>(
                    Prisma.sql`SELECT p.id::text AS id FROM profiles p WHERE p.workspace_id = ${workspaceId}::uuid AND ${compileAudiencePredicate(ast, ctx)}`,
                  )
                : await prisma.$queryRaw<{ id: string }[]>(
                    Prisma.sql`SELECT g.id::text AS id FROM groups g WHERE g.workspace_id = ${workspaceId}::uuid AND ${compileAccountPredicate(ast, ctx)}`,
                  );
            const fromSql = rows.map((r) => r.id).sort();
            if (ast.type !== 'computed') throw new Error('only computed conditions are generated');
            const expected = ids
              .filter((_, i) => valueTestHolds(referenceValue(ast.trait, subjects[i]!), ast, NOW))
              .sort();
            compared++;
            if (expected.length > 0 && expected.length < ids.length) discriminating++;
            if (JSON.stringify(fromSql) !== JSON.stringify(expected)) {
              throw new Error(
                `${level}: ${printAudience(ast)}\nSQL: ${JSON.stringify(fromSql)}\nreference: ${JSON.stringify(expected)}`,
              );
            }
          }
        },
      ),
      { numRuns: 25, seed: process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED) },
    );
    expect(discriminating).toBeGreaterThan(compared / 10);
  }, 120_000);
});
