/**
 * Sequences against the reference evaluator on dense data: few event names, many events per
 * profile, instants that collide (same timestamp, exactly one window apart), steps that repeat a
 * name or share it with the drop-off event, filters that split events of one name. The general
 * differential test covers sequences among every other condition; this one gives the window-function
 * compilation of sequences (sequence-conditions.ts) the chains, ties and boundaries it must get right.
 *
 * Reproduce a failure with the seed and path fast-check prints: FC_SEED=<seed> FC_PATH=<path>.
 * More cases: SEQUENCE_DIFF_RUNS=300.
 */
import { randomUUID } from 'node:crypto';

import fc from 'fast-check';

import { Duration, SequenceCondition, SequenceStep } from '../../src/audiences/language/audience-ast';
import { printAudience } from '../../src/audiences/language/audience-printer';
import { compileAudiencePredicate } from '../../src/audiences/language/compiler/audience-compiler';
import { Prisma, PrismaClient } from '../../src/generated/prisma/client';
import { evaluateAudience } from '../oracles/reference-evaluator';
import { createTestPrisma, TestPrisma } from '../support/database';

const RUNS = Number(process.env.SEQUENCE_DIFF_RUNS ?? 60);
const DEFINITIONS_PER_RUN = 12;

const NOW = new Date('2026-11-22T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const NAMES = ['A', 'B', 'C'];
const DURATIONS: Duration[] = [
  { amount: 30, unit: 'minutes' },
  { amount: 1, unit: 'hours' },
  { amount: 2, unit: 'hours' },
];

/** A coarse grid of instants (many ties) around now, with window-sized gaps. */
const instant = fc.integer({ min: -16, max: 1 }).map((k) => NOW.getTime() + k * 30 * MINUTE);

interface GeneratedEvent {
  profile: number;
  name: string;
  plan: 'Pro' | 'Free';
  at: number;
}

const event: fc.Arbitrary<GeneratedEvent> = fc.record({
  profile: fc.nat({ max: 5 }),
  name: fc.constantFrom(...NAMES),
  plan: fc.constantFrom('Pro' as const, 'Free' as const),
  at: instant,
});

const step: fc.Arbitrary<SequenceStep> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NAMES).map((name) => ({ event: name })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...NAMES), fc.constantFrom('Pro', 'Free'))
      .map(([name, plan]) => ({ event: name, where: [{ path: ['plan'], op: 'eq' as const, value: plan }] })),
  },
);

const sequence: fc.Arbitrary<SequenceCondition> = fc
  .record(
    {
      steps: fc.array(step, { minLength: 1, maxLength: 5 }),
      notFollowedBy: step,
      conversionWindow: fc.constantFrom(...DURATIONS),
    },
    { requiredKeys: ['steps'] },
  )
  .filter((s) => s.steps.length >= 2 || s.notFollowedBy !== undefined)
  .map((s) => ({ type: 'sequence' as const, ...s }));

describe('sequences: compiler vs reference evaluator', () => {
  let testPrisma: TestPrisma;
  let prisma: PrismaClient;

  beforeAll(async () => {
    testPrisma = await createTestPrisma();
    prisma = testPrisma.prisma;
  });

  afterAll(() => testPrisma?.close());

  it('picks the same profiles as the evaluator', async () => {
    let discriminating = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { minLength: 5, maxLength: 60 }),
        fc.array(sequence, { minLength: DEFINITIONS_PER_RUN, maxLength: DEFINITIONS_PER_RUN }),
        fc.boolean(),
        async (events, definitions, withEventsSince) => {
          const workspaceId = randomUUID();
          const profileIds = Array.from({ length: 6 }, () => randomUUID());
          const first = Math.min(NOW.getTime() - 9 * HOUR, ...events.map((e) => e.at));
          await prisma.$executeRaw`INSERT INTO workspaces (id, name) VALUES (${workspaceId}::uuid, 'sequences')`;
          await prisma.$executeRaw`
            INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
            SELECT id, ${workspaceId}::uuid, '{}', ${new Date(first).toISOString()}::timestamptz, ${new Date(NOW.getTime() + HOUR).toISOString()}::timestamptz
            FROM unnest(${profileIds}::uuid[]) AS id`;
          const rows = events.map((e) => ({
            profile_id: profileIds[e.profile],
            name: e.name,
            properties: { plan: e.plan },
            timestamp: new Date(e.at).toISOString(),
            message_id: randomUUID(),
          }));
          await prisma.$executeRaw`
            INSERT INTO events (workspace_id, profile_id, source_id, message_id, type, name, properties, timestamp, received_at)
            SELECT ${workspaceId}::uuid, r.profile_id, ${workspaceId}::uuid, r.message_id, 'track', r.name, r.properties,
              r.timestamp, r.timestamp
            FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
              AS r(profile_id uuid, message_id text, name text, properties jsonb, timestamp timestamptz)`;
          const eventsSince = withEventsSince ? new Date(NOW.getTime() - 4 * HOUR) : null;
          const data = {
            profiles: profileIds.map((id) => ({
              id,
              traits: {},
              firstSeenAt: new Date(first),
              lastSeenAt: new Date(NOW.getTime() + HOUR),
            })),
            events: events.map((e) => ({
              profileId: profileIds[e.profile] as string,
              type: 'track',
              name: e.name,
              properties: { plan: e.plan },
              timestamp: new Date(e.at),
            })),
            memberships: new Map<string, ReadonlySet<string>>(),
          };
          for (const definition of definitions) {
            const predicate = compileAudiencePredicate(definition, { workspaceId, now: NOW, eventsSince });
            const found = await prisma.$queryRaw<{ id: string }[]>(
              Prisma.sql`SELECT p.id FROM profiles p WHERE p.workspace_id = ${workspaceId}::uuid AND p.merged_into_id IS NULL AND ${predicate}`,
            );
            const fromSql = found.map((r) => r.id).sort();
            const expected = evaluateAudience(definition, data, { now: NOW, eventsSince }).sort();
            if (fromSql.length > 0 && fromSql.length < profileIds.length) discriminating++;
            if (JSON.stringify(fromSql) !== JSON.stringify(expected)) {
              throw new Error(
                `${printAudience(definition)}\nSQL picked ${fromSql.length}, the evaluator ${expected.length}\n${predicate.sql}`,
              );
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
    // Guards the generator: definitions that pick everyone or no one test nothing.
    expect(discriminating).toBeGreaterThan(RUNS);
  }, 300_000);
});
