/**
 * Score SQL against the score reference evaluator: random profiles (some merged away), events and
 * accounts in a real Postgres, random scores over them — components being random profile
 * conditions (profile level) or account conditions with random member conditions (account level),
 * random points and bands — computed by the statement the engine runs (into score_values, for
 * everyone and for a subset of subjects), and both must give every subject the same value and band.
 *
 * Reproduce a failure with the seed and path fast-check prints: FC_SEED=<seed> FC_PATH=<path>.
 * More cases: SCORE_DIFF_RUNS=100.
 */
import { randomUUID } from 'node:crypto';

import fc from 'fast-check';

import { AudienceCondition, Duration } from '../../src/audiences/language/audience-ast';
import { printAudience } from '../../src/audiences/language/audience-printer';
import { Prisma, PrismaClient } from '../../src/generated/prisma/client';
import { readScoreDefinition, ScoreDefinition, ScoreLevel } from '../../src/scores/score-definition';
import { compileScore, scoreValuesStatement } from '../../src/scores/score-sql';
import { AccountEvaluatorData } from '../oracles/account-reference-evaluator';
import { AstPools, audienceArbitrary } from '../oracles/audience-arbitrary';
import { evaluateScore } from '../oracles/score-reference';
import { createTestPrisma, TestPrisma } from '../support/database';
import { scaled } from '../support/time-scale';

const RUNS = Number(process.env.SCORE_DIFF_RUNS ?? 15);
const SCORES_PER_RUN = 6;

const NOW = new Date('2026-11-22T12:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const DURATIONS: Duration[] = [
  { amount: 1, unit: 'days' },
  { amount: 7, unit: 'days' },
];
const BOUNDARY_MS = [NOW.getTime(), ...[DAY, 7 * DAY].flatMap((d) => [NOW.getTime() - d, NOW.getTime() - d + 1])];
const instant = fc
  .oneof(fc.constantFrom(...BOUNDARY_MS), fc.integer({ min: NOW.getTime() - 20 * DAY, max: NOW.getTime() }))
  .map((ms) => new Date(ms).toISOString());
const EVENTS = ['Login', 'Source Connected'];
const ROLES = ['owner', 'developer'];

interface Data {
  profiles: { id: string; role: string | null; merged: boolean; first: string; last: string }[];
  events: { profile: number; name: string; timestamp: string }[];
  accounts: { id: string; plan: string | null; createdAt: string; members: number[] }[];
}

const dataset = fc.record({
  profiles: fc.array(
    fc.record({
      role: fc.option(fc.constantFrom(...ROLES)),
      merged: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      first: instant,
      last: instant,
    }),
    { minLength: 2, maxLength: 8 },
  ),
  events: fc.array(fc.record({ profile: fc.nat(), name: fc.constantFrom(...EVENTS), timestamp: instant }), {
    maxLength: 20,
  }),
  accounts: fc.array(
    fc.record({
      plan: fc.option(fc.constantFrom('Business', 'Pro')),
      createdAt: instant,
      members: fc.array(fc.nat(), { maxLength: 4 }),
    }),
    { minLength: 2, maxLength: 5 },
  ),
});

const pools: AstPools = {
  events: fc.constantFrom(...EVENTS),
  paths: fc.constant(['role']),
  strings: fc.constantFrom(...ROLES),
  numbers: fc.constantFrom(0, 2),
  dates: fc.constantFrom('2026-11-10', '2026-11-20'),
  durations: fc.constantFrom(...DURATIONS),
  counts: fc.integer({ min: 0, max: 2 }),
  audiences: fc.constant('missing'),
};

const profileCondition = audienceArbitrary(pools, 2);

const accountCondition: fc.Arbitrary<AudienceCondition> = fc.oneof(
  fc.record({
    type: fc.constant('members' as const),
    quantifier: fc.constantFrom('any' as const, 'no' as const, 'all' as const),
    condition: audienceArbitrary(pools, 1),
  }),
  fc.record({
    type: fc.constant('member_count' as const),
    op: fc.constantFrom('at_least' as const, 'at_most' as const),
    value: fc.integer({ min: 0, max: 2 }),
  }),
  fc.record({
    type: fc.constant('trait' as const),
    path: fc.constant<string[]>(['plan']),
    op: fc.constant('eq' as const),
    value: fc.constantFrom('Business', 'Pro'),
  }),
  fc.record({
    type: fc.constant('created' as const),
    window: fc.record({ kind: fc.constant('within' as const), duration: fc.constantFrom(...DURATIONS) }),
  }),
);

const bandsArbitrary = fc
  .uniqueArray(fc.integer({ min: 1, max: 120 }), { maxLength: 3 })
  .map((mins) => [0, ...mins].map((min, i) => ({ name: `band${i}`, min })));

function scoreArbitrary(
  level: ScoreLevel,
): fc.Arbitrary<{ level: ScoreLevel; components: unknown[]; bands: unknown[] }> {
  const condition = level === 'account' ? accountCondition : profileCondition;
  return fc.record({
    level: fc.constant(level),
    components: fc
      .array(fc.record({ condition, points: fc.integer({ min: 1, max: 50 }) }), { minLength: 1, maxLength: 4 })
      .map((cs) => cs.map((c, i) => ({ name: `c${i}`, ...c }))),
    bands: bandsArbitrary,
  });
}

describe('score SQL vs score reference evaluator', () => {
  let testPrisma: TestPrisma;
  let prisma: PrismaClient;

  beforeAll(async () => {
    testPrisma = await createTestPrisma();
    prisma = testPrisma.prisma;
  });

  afterAll(() => testPrisma?.close());

  const profileAt = (data: Data, i: number) => data.profiles[i % data.profiles.length]!;

  async function insert(data: Data): Promise<string> {
    const workspaceId = randomUUID();
    await prisma.$executeRaw`INSERT INTO workspaces (id, name) VALUES (${workspaceId}::uuid, 'score differential')`;
    const survivor = data.profiles.find((p) => !p.merged)?.id ?? null;
    const profiles = data.profiles.map((p) => ({
      id: p.id,
      traits: p.role === null ? {} : { role: p.role },
      first_seen_at: p.first,
      last_seen_at: p.last,
      merged_into_id: p.merged ? survivor : null,
    }));
    await prisma.$executeRaw`
      INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at, merged_into_id)
      SELECT r.id, ${workspaceId}::uuid, r.traits, r.first_seen_at, r.last_seen_at, r.merged_into_id
      FROM jsonb_to_recordset(${JSON.stringify(profiles)}::jsonb)
        AS r(id uuid, traits jsonb, first_seen_at timestamptz, last_seen_at timestamptz, merged_into_id uuid)`;
    const events = data.events.map((e) => ({
      profile_id: profileAt(data, e.profile).id,
      name: e.name,
      timestamp: e.timestamp,
      message_id: randomUUID(),
    }));
    await prisma.$executeRaw`
      INSERT INTO events (workspace_id, profile_id, source_id, message_id, type, name, timestamp, received_at)
      SELECT ${workspaceId}::uuid, r.profile_id, ${workspaceId}::uuid, r.message_id, 'track', r.name, r.timestamp, r.timestamp
      FROM jsonb_to_recordset(${JSON.stringify(events)}::jsonb)
        AS r(profile_id uuid, message_id text, name text, timestamp timestamptz)`;
    for (const [i, account] of data.accounts.entries()) {
      await prisma.$executeRaw`
        INSERT INTO groups (id, workspace_id, group_id, traits, created_at)
        VALUES (${account.id}::uuid, ${workspaceId}::uuid, ${`g${i}`},
                ${JSON.stringify(account.plan === null ? {} : { plan: account.plan })}::jsonb, ${account.createdAt}::timestamptz)`;
      const members = [...new Set(account.members.map((m) => profileAt(data, m).id))];
      await prisma.$executeRaw`
        INSERT INTO group_memberships (group_id, profile_id) SELECT ${account.id}::uuid, id FROM unnest(${members}::uuid[]) AS id`;
    }
    return workspaceId;
  }

  function inMemory(data: Data): AccountEvaluatorData {
    return {
      profiles: data.profiles
        .filter((p) => !p.merged)
        .map((p) => ({
          id: p.id,
          traits: p.role === null ? {} : { role: p.role },
          firstSeenAt: new Date(p.first),
          lastSeenAt: new Date(p.last),
        })),
      events: data.events.map((e) => ({
        profileId: profileAt(data, e.profile).id,
        type: 'track',
        name: e.name,
        properties: {},
        timestamp: new Date(e.timestamp),
      })),
      memberships: new Map(),
      accounts: data.accounts.map((a) => ({
        id: a.id,
        traits: a.plan === null ? {} : { plan: a.plan },
        createdAt: new Date(a.createdAt),
        memberIds: a.members.map((m) => profileAt(data, m).id),
      })),
      accountMemberships: new Map(),
    };
  }

  /** Computes into score_values (for `ids` only when given) and reads them back, sorted by subject. */
  async function fromSql(workspaceId: string, definition: ScoreDefinition, level: ScoreLevel, ids?: string[]) {
    const scoreId = randomUUID();
    const compiled = compileScore(workspaceId, level, definition, NOW);
    await prisma.$queryRaw(scoreValuesStatement(scoreId, compiled, NOW, ids));
    const rows = await prisma.$queryRaw<{ id: string; value: number; band: string }[]>(
      Prisma.sql`SELECT subject_id::text AS id, value, band FROM score_values WHERE score_id = ${scoreId}::uuid ORDER BY subject_id::text COLLATE "C"`,
    );
    return rows.map((r) => [r.id, r.value, r.band]);
  }

  it('gives every subject the same score and band as the reference', async () => {
    let compared = 0;
    let varied = 0;
    await fc.assert(
      fc.asyncProperty(
        dataset,
        fc.array(fc.oneof(scoreArbitrary('profile'), scoreArbitrary('account')), {
          minLength: SCORES_PER_RUN,
          maxLength: SCORES_PER_RUN,
        }),
        async (generated, scores) => {
          const anyLive = generated.profiles.some((p) => !p.merged);
          const data = seenAroundEvents({
            ...generated,
            profiles: generated.profiles.map((p) => ({ ...p, id: randomUUID(), merged: p.merged && anyLive })),
            accounts: generated.accounts.map((a) => ({ ...a, id: randomUUID() })),
          });
          const workspaceId = await insert(data);
          const memory = inMemory(data);
          for (const score of scores) {
            const read = readScoreDefinition(score, score.level);
            if (!read.ok) throw new Error(`generated an invalid score: ${JSON.stringify(read.problems)}`);
            const reference = evaluateScore(read.value, score.level, memory, { now: NOW });
            const expected = [...reference]
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([id, s]) => [id, s.value, s.band]);
            const actual = await fromSql(workspaceId, read.value, score.level);
            // A subset of subjects (real-time evaluation) computes the same values for them.
            const some = [...reference.keys()].filter((_, i) => i % 2 === 0);
            const partial = await fromSql(workspaceId, read.value, score.level, some);
            compared++;
            if (new Set(expected.map((e) => e[1])).size > 1) varied++;
            const describe = () =>
              read.value.components.map((c) => `${c.points}: ${printAudience(c.conditionAst)}`).join('\n');
            if (JSON.stringify(actual) !== JSON.stringify(expected)) {
              throw new Error(
                `${score.level}\n${describe()}\nSQL: ${JSON.stringify(actual)}\nreference: ${JSON.stringify(expected)}`,
              );
            }
            const expectedPartial = expected.filter((e) => some.includes(e[0] as string));
            if (JSON.stringify(partial) !== JSON.stringify(expectedPartial)) {
              throw new Error(`${score.level} (subset)\n${describe()}\nSQL: ${JSON.stringify(partial)}`);
            }
          }
        },
      ),
      {
        numRuns: RUNS,
        seed: process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED),
        path: process.env.FC_PATH,
        interruptAfterTimeLimit: scaled(120_000),
        markInterruptAsFailure: false,
      },
    );
    expect(compared).toBeGreaterThan(0);
    // Scores that tell subjects apart, not only all-zero ones.
    expect(varied).toBeGreaterThan(compared / 10);
  }, 300_000);
});

/** Ingest's invariant, which the profile compiler relies on: first/last seen bracket a profile's events. */
function seenAroundEvents(data: Data): Data {
  const profiles = data.profiles.map((profile, index) => {
    let { first, last } = profile;
    for (const event of data.events) {
      if (event.profile % data.profiles.length !== index) continue;
      if (Date.parse(event.timestamp) < Date.parse(first)) first = event.timestamp;
      if (Date.parse(event.timestamp) > Date.parse(last)) last = event.timestamp;
    }
    return { ...profile, first, last };
  });
  return { ...data, profiles };
}
