/**
 * The account compiler against the account reference evaluator: random accounts, members (some
 * merged away), events and account-audience memberships in a real Postgres, random account
 * definitions over them, and both must pick the same accounts. Member conditions are random profile
 * conditions (the profile compiler has its own differential test); instants sit on window edges.
 *
 * Reproduce a failure with the seed and path fast-check prints: FC_SEED=<seed> FC_PATH=<path>.
 * More cases: ACCOUNT_DIFF_RUNS=100.
 */
import { randomUUID } from 'node:crypto';

import fc from 'fast-check';

import { AudienceCondition, Duration, TimeWindow } from '../../src/audiences/language/audience-ast';
import { printAudience } from '../../src/audiences/language/audience-printer';
import { validateAudienceAst } from '../../src/audiences/language/audience-validator';
import { compileAccountPredicate } from '../../src/audiences/language/compiler/account-conditions';
import { Prisma, PrismaClient } from '../../src/generated/prisma/client';
import { AccountEvaluatorData, evaluateAccountAudience } from '../oracles/account-reference-evaluator';
import { AstPools, audienceArbitrary } from '../oracles/audience-arbitrary';
import { createTestPrisma, TestPrisma } from '../support/database';
import { scaled } from '../support/time-scale';

const RUNS = Number(process.env.ACCOUNT_DIFF_RUNS ?? 30);
const ASTS_PER_RUN = 20;

const NOW = new Date('2026-11-22T12:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const DURATIONS: Duration[] = [
  { amount: 1, unit: 'days' },
  { amount: 7, unit: 'days' },
  { amount: 2, unit: 'weeks' },
];
const BOUNDARY_MS = [
  NOW.getTime(),
  NOW.getTime() + HOUR,
  ...[DAY, 7 * DAY, 14 * DAY].flatMap((d) => [NOW.getTime() - d, NOW.getTime() - d - 1, NOW.getTime() - d + 1]),
];
const instant = fc
  .oneof(fc.constantFrom(...BOUNDARY_MS), fc.integer({ min: NOW.getTime() - 30 * DAY, max: NOW.getTime() }))
  .map((ms) => new Date(ms).toISOString());

const EVENTS = ['Login', 'Source Connected'];
const PLANS = ['Business', 'Pro', 'business'];
const ROLES = ['owner', 'developer'];
const ACCOUNT_AUDIENCE = 'big-accounts';
/** An account-level computed trait whose values the data sets (src/traits computes them elsewhere). */
const ACCOUNT_TRAIT = 'health';

interface Data {
  profiles: { id: string; role: string | null; merged: boolean; first: string; last: string }[];
  events: { profile: number; name: string; timestamp: string }[];
  accounts: {
    id: string;
    plan: string | null;
    seats: number;
    createdAt: string;
    members: number[];
    /** The account-level computed trait `health` (none when null). */
    health: number | string | null;
  }[];
  inAudience: number[];
}

const dataset = fc.record({
  profiles: fc.array(
    fc.record({
      role: fc.option(fc.constantFrom(...ROLES)),
      merged: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      first: instant,
      last: instant,
    }),
    { minLength: 2, maxLength: 10 },
  ),
  events: fc.array(fc.record({ profile: fc.nat(), name: fc.constantFrom(...EVENTS), timestamp: instant }), {
    maxLength: 25,
  }),
  accounts: fc.array(
    fc.record({
      plan: fc.option(fc.constantFrom(...PLANS)),
      seats: fc.integer({ min: 0, max: 5 }),
      createdAt: instant,
      members: fc.array(fc.nat(), { maxLength: 4 }),
      health: fc.option(fc.constantFrom<number | string>(0, 1, 2, '2', 'x')),
    }),
    { minLength: 2, maxLength: 6 },
  ),
  inAudience: fc.array(fc.nat(), { maxLength: 3 }),
});

const pools: AstPools = {
  events: fc.constantFrom(...EVENTS),
  paths: fc.constant(['role']),
  strings: fc.constantFrom(...ROLES, 'Business'),
  numbers: fc.constantFrom(0, 2),
  // Two at least: a generated `between` needs two different dates.
  dates: fc.constantFrom('2026-11-01', '2026-11-20'),
  durations: fc.constantFrom(...DURATIONS),
  counts: fc.integer({ min: 0, max: 2 }),
  audiences: fc.constant('missing'),
};

const window: fc.Arbitrary<TimeWindow> = fc.oneof(
  fc.record({ kind: fc.constant('within' as const), duration: fc.constantFrom(...DURATIONS) }),
  fc.record({ kind: fc.constant('before' as const), duration: fc.constantFrom(...DURATIONS) }),
  fc.constant<TimeWindow>({ kind: 'between', from: '2026-11-01', to: '2026-11-20' }),
);

/** Account conditions, member conditions being small random profile conditions. */
const accountCondition: fc.Arbitrary<AudienceCondition> = fc.letrec<{ node: AudienceCondition }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(
      fc.record({
        type: fc.constant('trait' as const),
        path: fc.constant<string[]>(['plan']),
        op: fc.constant('eq' as const),
        value: fc.constantFrom(...PLANS),
      }),
      fc.record({
        type: fc.constant('trait' as const),
        path: fc.constant<string[]>(['seats']),
        op: fc.constantFrom('gte' as const, 'lt' as const),
        value: fc.integer({ min: 0, max: 5 }),
      }),
      fc.record({ type: fc.constant('created' as const), window }),
      fc.record({
        type: fc.constant('member_count' as const),
        op: fc.constantFrom('at_least' as const, 'at_most' as const, 'exactly' as const),
        value: fc.integer({ min: 0, max: 3 }),
      }),
      fc.record({
        type: fc.constant('members' as const),
        quantifier: fc.constantFrom('any' as const, 'no' as const, 'all' as const),
        condition: audienceArbitrary(pools, 1),
      }),
      fc.constant<AudienceCondition>({ type: 'in_audience', audience: ACCOUNT_AUDIENCE }),
      fc.record({
        type: fc.constant('computed' as const),
        trait: fc.constant(ACCOUNT_TRAIT),
        op: fc.constantFrom('eq' as const, 'gte' as const, 'lt' as const),
        value: fc.integer({ min: 0, max: 2 }),
      }),
    ),
    fc.record({ type: fc.constant('not' as const), condition: tie('node') }),
    fc.record({
      type: fc.constantFrom('and' as const, 'or' as const),
      conditions: fc.array(tie('node'), { minLength: 2, maxLength: 3 }),
    }),
  ),
})).node;

describe('account compiler vs account reference evaluator', () => {
  let testPrisma: TestPrisma;
  let prisma: PrismaClient;

  beforeAll(async () => {
    testPrisma = await createTestPrisma();
    prisma = testPrisma.prisma;
  });

  afterAll(() => testPrisma?.close());

  async function insert(data: Data): Promise<string> {
    const workspaceId = randomUUID();
    await prisma.$executeRaw`INSERT INTO workspaces (id, name) VALUES (${workspaceId}::uuid, 'account differential')`;
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
                ${JSON.stringify({ ...(account.plan !== null && { plan: account.plan }), seats: account.seats })}::jsonb,
                ${account.createdAt}::timestamptz)`;
      const members = [...new Set(account.members.map((m) => profileAt(data, m).id))];
      await prisma.$executeRaw`
        INSERT INTO group_memberships (group_id, profile_id)
        SELECT ${account.id}::uuid, id FROM unnest(${members}::uuid[]) AS id`;
    }
    const traitId = randomUUID();
    await prisma.$executeRaw`
      INSERT INTO computed_traits (id, workspace_id, key, name, level, definition_ast, definition_text)
      VALUES (${traitId}::uuid, ${workspaceId}::uuid, ${ACCOUNT_TRAIT}, 'health', 'account', '{}', '')`;
    const values = data.accounts.filter((a) => a.health !== null).map((a) => ({ id: a.id, value: a.health }));
    await prisma.$executeRaw`
      INSERT INTO computed_trait_values (trait_id, workspace_id, profile_id, value, updated_at)
      SELECT ${traitId}::uuid, ${workspaceId}::uuid, r.id, r.value, now()
      FROM jsonb_to_recordset(${JSON.stringify(values)}::jsonb) AS r(id uuid, value jsonb)`;
    const audienceId = randomUUID();
    await prisma.$executeRaw`
      INSERT INTO audiences (id, workspace_id, key, name, level, definition_ast, definition_text)
      VALUES (${audienceId}::uuid, ${workspaceId}::uuid, ${ACCOUNT_AUDIENCE}, 'big', 'account', '{}', '')`;
    const inAudience = [...new Set(data.inAudience.map((i) => accountAt(data, i).id))];
    await prisma.$executeRaw`
      INSERT INTO audience_members (audience_id, profile_id, entered_at)
      SELECT ${audienceId}::uuid, id, ${NOW.toISOString()}::timestamptz FROM unnest(${inAudience}::uuid[]) AS id`;
    return workspaceId;
  }

  const profileAt = (data: Data, i: number) => data.profiles[i % data.profiles.length]!;
  const accountAt = (data: Data, i: number) => data.accounts[i % data.accounts.length]!;

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
        traits: { ...(a.plan !== null && { plan: a.plan }), seats: a.seats },
        createdAt: new Date(a.createdAt),
        memberIds: a.members.map((m) => profileAt(data, m).id),
      })),
      accountMemberships: new Map([[ACCOUNT_AUDIENCE, new Set(data.inAudience.map((i) => accountAt(data, i).id))]]),
      computed: new Map([
        [ACCOUNT_TRAIT, new Map(data.accounts.filter((a) => a.health !== null).map((a) => [a.id, a.health]))],
      ]),
    };
  }

  it('picks the same accounts as the evaluator', async () => {
    let compared = 0;
    let discriminating = 0;
    await fc.assert(
      fc.asyncProperty(
        dataset,
        fc.array(accountCondition, { minLength: ASTS_PER_RUN, maxLength: ASTS_PER_RUN }),
        async (generated, asts) => {
          const anyLive = generated.profiles.some((p) => !p.merged);
          const data = seenAroundEvents({
            ...generated,
            profiles: generated.profiles.map((p) => ({ ...p, id: randomUUID(), merged: p.merged && anyLive })),
            accounts: generated.accounts.map((a) => ({ ...a, id: randomUUID() })),
          });
          const workspaceId = await insert(data);
          const memory = inMemory(data);
          for (const ast of asts) {
            // Every generated definition is a valid account definition.
            expect(validateAudienceAst(ast, 'definition', 'account').ok).toBe(true);
            const predicate = compileAccountPredicate(ast, { workspaceId, now: NOW });
            const rows = await prisma.$queryRaw<{ id: string }[]>(
              Prisma.sql`SELECT g.id::text AS id FROM groups g WHERE g.workspace_id = ${workspaceId}::uuid AND ${predicate}`,
            );
            const fromSql = rows.map((r) => r.id).sort();
            const fromEvaluator = evaluateAccountAudience(ast, memory, { now: NOW }).sort();
            compared++;
            if (fromSql.length > 0 && fromSql.length < data.accounts.length) discriminating++;
            if (JSON.stringify(fromSql) !== JSON.stringify(fromEvaluator)) {
              throw new Error(
                `${printAudience(ast)}\nSQL: ${JSON.stringify(fromSql)}\nevaluator: ${JSON.stringify(fromEvaluator)}\n${predicate.sql}`,
              );
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
    expect(compared).toBeGreaterThanOrEqual(RUNS * ASTS_PER_RUN);
    expect(discriminating).toBeGreaterThan(compared / 8);
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
