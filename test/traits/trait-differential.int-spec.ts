/**
 * The computed trait compiler against the reference evaluator (test/oracles/trait-evaluator.ts):
 * random datasets in a real Postgres, random definitions over them, and both must give every live
 * profile the same value (or both none). Timestamps sit on window and calendar-week boundaries to
 * the millisecond; property values mix numbers, numeric strings, other strings, booleans and nulls.
 *
 * Reproduce a failure with FC_SEED=<seed> FC_PATH=<path>; more cases with TRAIT_DIFF_RUNS=200.
 */
import { randomUUID } from 'node:crypto';

import fc from 'fast-check';

import { Duration } from '../../src/audiences/language/audience-ast';
import { Prisma, PrismaClient } from '../../src/generated/prisma/client';
import { printAccountTrait } from '../../src/traits/language/account-trait-printer';
import { accountTraitTargetQuery, compileAccountTrait } from '../../src/traits/language/compiler/account-values';
import { weekStart } from '../../src/traits/language/compiler/recency-values';
import { compileTrait, traitTargetQuery } from '../../src/traits/language/compiler/trait-compiler';
import { printTrait } from '../../src/traits/language/trait-printer';
import { AccountTraitEvaluatorData, evaluateAccountTrait } from '../oracles/account-trait-evaluator';
import { accountTraitArbitrary, traitArbitrary } from '../oracles/trait-arbitrary';
import { evaluateTrait, TraitEvaluatorData } from '../oracles/trait-evaluator';
import { createTestPrisma, TestPrisma } from '../support/database';
import { scaled } from '../support/time-scale';

const RUNS = Number(process.env.TRAIT_DIFF_RUNS ?? 30);
const ASTS_PER_RUN = Number(process.env.TRAIT_DIFF_ASTS ?? 25);

// A Thursday, so that calendar weeks and windows of days do not line up.
const NOW = new Date('2026-11-26T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

const DURATIONS: Duration[] = [
  { amount: 1, unit: 'hours' },
  { amount: 1, unit: 'days' },
  { amount: 7, unit: 'days' },
  { amount: 30, unit: 'days' },
  { amount: 2, unit: 'weeks' },
];
const DATE_LITERALS = ['2026-11-01', '2026-11-20', '2026-10-23T12:00:00Z'];
const MONDAY = weekStart(NOW).getTime();
const BOUNDARY_MS = [
  NOW.getTime(),
  NOW.getTime() - 1,
  NOW.getTime() + 1,
  ...[HOUR, DAY, 7 * DAY, 30 * DAY, 14 * DAY].flatMap((d) => [NOW.getTime() - d, NOW.getTime() - d + 1]),
  ...[0, 1, 2, 5].flatMap((w) => [MONDAY - w * WEEK, MONDAY - w * WEEK - 1]),
  ...DATE_LITERALS.map((d) => Date.parse(d)),
];
const instant = fc.oneof(
  fc.constantFrom(...BOUNDARY_MS),
  fc.integer({ min: NOW.getTime() - 70 * DAY, max: NOW.getTime() + DAY }),
);

const EVENTS = ['Order Completed', 'Page Viewed', 'Ünï "q"'];
const CATEGORIES = ['shoes', 'hats', 'Shoes', 'é', '"quoted"', ''];
const scalar = fc.oneof(
  fc.constantFrom(...CATEGORIES),
  fc.constantFrom(42, 42.5, 0, -1, 100, 7),
  fc.constantFrom('42', '100.5', ' 42', '4e2', '-1'),
  fc.boolean(),
  fc.constant(null),
);
const properties = fc.record(
  {
    amount: fc.oneof(fc.constantFrom(10, 20.5, 0, -3, 1000), fc.constantFrom('15', '2.5', 'n/a'), fc.constant(null)),
    category: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...CATEGORIES) }, { weight: 1, arbitrary: scalar }),
    plan: fc.constantFrom('Pro', 'Free', 'Team'),
    any: scalar,
  },
  { requiredKeys: [] },
);

interface GeneratedEvent {
  profile: number;
  type: string;
  name: string;
  properties: Record<string, unknown>;
  at: number;
}
interface Generated {
  profiles: { firstSeenAt: number; merged: boolean }[];
  events: GeneratedEvent[];
}
const dataset: fc.Arbitrary<Generated> = fc.record({
  profiles: fc.array(fc.record({ firstSeenAt: instant, merged: fc.integer({ min: 0, max: 9 }).map((n) => n < 2) }), {
    minLength: 3,
    maxLength: 7,
  }),
  events: fc.array(
    fc.record({
      profile: fc.nat(),
      type: fc.constantFrom('track', 'track', 'track', 'page'),
      name: fc.constantFrom(...EVENTS),
      properties,
      at: instant,
    }),
    { minLength: 3, maxLength: 50 },
  ),
});

const pools = {
  events: fc.constantFrom(...EVENTS, 'Never Sent'),
  paths: fc.constantFrom<string[]>(['amount'], ['category'], ['plan'], ['any'], ['missing']),
  strings: fc.constantFrom(...CATEGORIES, 'Pro', 'sh'),
  numbers: fc.constantFrom(10, 0, 42, 15),
  dates: fc.constantFrom(...DATE_LITERALS),
  durations: fc.constantFrom(...DURATIONS),
  counts: fc.integer({ min: 0, max: 3 }),
  audiences: fc.constant('none'),
  properties: fc.constantFrom<string[]>(['amount'], ['category'], ['any'], ['missing']),
};

describe('computed trait compiler vs reference evaluator', () => {
  let testPrisma: TestPrisma;
  let prisma: PrismaClient;

  beforeAll(async () => {
    testPrisma = await createTestPrisma();
    prisma = testPrisma.prisma;
  });

  afterAll(() => testPrisma?.close());

  it('gives every profile the same value as the evaluator', async () => {
    let compared = 0;
    let discriminating = 0;
    await fc.assert(
      fc.asyncProperty(
        dataset,
        fc.array(traitArbitrary(pools), { minLength: ASTS_PER_RUN, maxLength: ASTS_PER_RUN }),
        async (generated, asts) => {
          const { workspaceId, data } = await insert(prisma, generated);
          for (const ast of asts) {
            const compiled = compileTrait(ast, { workspaceId, now: NOW });
            const live = Prisma.sql`p.workspace_id = ${workspaceId}::uuid AND p.merged_into_id IS NULL`;
            const rows = await prisma.$queryRaw<{ profile_id: string; value: unknown }[]>(
              traitTargetQuery(compiled, live),
            );
            const fromSql = new Map(rows.map((r) => [r.profile_id, r.value]));
            const expected = evaluateTrait(ast, data, NOW);
            compared++;
            const outcomes = data.profiles.map((profile) => JSON.stringify(expected.get(profile.id) ?? null));
            if (new Set(outcomes).size > 1) discriminating++;
            // The real-time form: a batch of some profiles, `events` shadowed by theirs (as
            // TraitValuesRepository does for a batch) must give those profiles the same values.
            const batch = data.profiles.filter((_, i) => i % 2 === 0).map((p) => p.id);
            const batchRows = await prisma.$queryRaw<{ profile_id: string; value: unknown }[]>(
              Prisma.sql`WITH events AS NOT MATERIALIZED (SELECT * FROM events WHERE workspace_id = ${workspaceId}::uuid AND profile_id = ANY(${batch}::uuid[]))
              ${traitTargetQuery(compiled, Prisma.sql`p.id = ANY(${batch}::uuid[]) AND p.merged_into_id IS NULL`)}`,
            );
            const batchExpected = new Map([...expected].filter(([id]) => batch.includes(id)));
            const batchProblem = difference(new Map(batchRows.map((r) => [r.profile_id, r.value])), batchExpected);
            if (batchProblem) throw new Error(`${printTrait(ast)} (batch of ${batch.length})\n${batchProblem}`);
            const problem = difference(fromSql, expected);
            if (problem) {
              throw new Error(
                `${printTrait(ast)}\n${problem}\nsql: ${compiled.values.sql}\nvalues: ${JSON.stringify(compiled.values.values)}`,
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
    process.stdout.write(`compared ${compared} trait definitions (${discriminating} that tell profiles apart)\n`);
    expect(compared).toBeGreaterThanOrEqual(RUNS * ASTS_PER_RUN);
    // A generator gone degenerate (every profile the same value) tells none apart; a sound one about a
    // fifth (150–185 of 750 in runs so far), so a tenth is the floor that cannot flake.
    expect(discriminating).toBeGreaterThan(compared / 10);
  }, 300_000);
});

/** Accounts over the generated profiles, and a profile-level trait's stored values for `of members`. */
interface GeneratedAccounts {
  accounts: { createdAt: number; members: number[] }[];
  /** A stored value of `logins_7d` per profile (by index), or none. */
  values: unknown[];
}
const accountsArbitrary: fc.Arbitrary<GeneratedAccounts> = fc.record({
  accounts: fc.array(fc.record({ createdAt: instant, members: fc.array(fc.nat(), { maxLength: 4 }) }), {
    minLength: 2,
    maxLength: 5,
  }),
  values: fc.array(fc.option(fc.constantFrom<unknown>(3, 0, 7.5, '4', 'n/a', true, -2), { nil: undefined }), {
    maxLength: 7,
  }),
});

describe('account trait compiler vs reference evaluator', () => {
  let testPrisma: TestPrisma;
  let prisma: PrismaClient;

  beforeAll(async () => {
    testPrisma = await createTestPrisma();
    prisma = testPrisma.prisma;
  });

  afterAll(() => testPrisma?.close());

  it('gives every account the same value as the evaluator, for all accounts and for a batch of them', async () => {
    let compared = 0;
    let discriminating = 0;
    await fc.assert(
      fc.asyncProperty(
        dataset,
        accountsArbitrary,
        fc.array(accountTraitArbitrary(pools), { minLength: ASTS_PER_RUN, maxLength: ASTS_PER_RUN }),
        async (generated, generatedAccounts, asts) => {
          const { workspaceId, data: profileData, profileIds } = await insert(prisma, generated);
          const data = await insertAccounts(prisma, workspaceId, profileIds, profileData, generatedAccounts);
          const ctx = { workspaceId, now: NOW };
          for (const ast of asts) {
            const rows = await prisma.$queryRaw<{ profile_id: string; value: unknown }[]>(
              accountTraitTargetQuery(compileAccountTrait(ast, ctx), ctx),
            );
            const expected = evaluateAccountTrait(ast, data, NOW);
            compared++;
            const outcomes = data.accounts.map((account) => JSON.stringify(expected.get(account.id) ?? null));
            if (new Set(outcomes).size > 1) discriminating++;
            const problem = difference(new Map(rows.map((r) => [r.profile_id, r.value])), expected);
            if (problem) throw new Error(`${printAccountTrait(ast)}\n${problem}`);
            // The real-time form: some accounts only (those of a batch's profiles).
            const scope = { accountIds: data.accounts.filter((_, i) => i % 2 === 1).map((a) => a.id) };
            const batchRows = await prisma.$queryRaw<{ profile_id: string; value: unknown }[]>(
              accountTraitTargetQuery(compileAccountTrait(ast, ctx, scope), ctx, scope),
            );
            const batchExpected = new Map([...expected].filter(([id]) => scope.accountIds.includes(id)));
            const batchProblem = difference(new Map(batchRows.map((r) => [r.profile_id, r.value])), batchExpected);
            if (batchProblem) throw new Error(`${printAccountTrait(ast)} (some accounts)\n${batchProblem}`);
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
    process.stdout.write(
      `compared ${compared} account trait definitions (${discriminating} that tell accounts apart)\n`,
    );
    expect(compared).toBeGreaterThanOrEqual(RUNS * ASTS_PER_RUN);
    expect(discriminating).toBeGreaterThan(compared / 10);
  }, 300_000);
});

async function insertAccounts(
  prisma: PrismaClient,
  workspaceId: string,
  profileIds: readonly string[],
  profileData: TraitEvaluatorData,
  generated: GeneratedAccounts,
): Promise<AccountTraitEvaluatorData> {
  const accounts = generated.accounts.map((a, i) => ({
    id: randomUUID(),
    groupId: `g${i}`,
    createdAt: new Date(a.createdAt),
    memberIds: [...new Set(a.members.map((m) => profileIds[m % profileIds.length]!))],
  }));
  for (const account of accounts) {
    await prisma.$executeRaw`
      INSERT INTO groups (id, workspace_id, group_id, created_at)
      VALUES (${account.id}::uuid, ${workspaceId}::uuid, ${account.groupId}, ${account.createdAt.toISOString()}::timestamptz)`;
    await prisma.$executeRaw`
      INSERT INTO group_memberships (group_id, profile_id)
      SELECT ${account.id}::uuid, id FROM unnest(${account.memberIds}::uuid[]) AS id`;
  }
  const traitId = randomUUID();
  await prisma.$executeRaw`
    INSERT INTO computed_traits (id, workspace_id, key, name, level, definition_ast, definition_text)
    VALUES (${traitId}::uuid, ${workspaceId}::uuid, 'logins_7d', 'logins', 'profile', '{}', '')`;
  const stored = new Map<string, unknown>();
  generated.values.forEach((value, i) => {
    const id = profileIds[i % profileIds.length];
    if (value !== undefined && id !== undefined) stored.set(id, value);
  });
  const rows = [...stored].map(([profile_id, value]) => ({ profile_id, value }));
  await prisma.$executeRaw`
    INSERT INTO computed_trait_values (trait_id, workspace_id, profile_id, value, updated_at)
    SELECT ${traitId}::uuid, ${workspaceId}::uuid, r.profile_id, r.value, now()
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(profile_id uuid, value jsonb)`;
  return {
    ...profileData,
    accounts: accounts.map((a) => ({ id: a.id, traits: {}, createdAt: a.createdAt, memberIds: a.memberIds })),
    profileValues: new Map([['logins_7d', stored]]),
  };
}

async function insert(
  prisma: PrismaClient,
  generated: Generated,
): Promise<{ workspaceId: string; data: TraitEvaluatorData; profileIds: string[] }> {
  const workspaceId = randomUUID();
  await prisma.$executeRaw`INSERT INTO workspaces (id, name) VALUES (${workspaceId}::uuid, 'trait differential')`;
  const anyLive = generated.profiles.some((p) => !p.merged);
  const profiles = generated.profiles.map((p) => ({ ...p, id: randomUUID(), merged: p.merged && anyLive }));
  const survivor = profiles.find((p) => !p.merged)?.id ?? null;
  const owner = (index: number) => profiles[index % profiles.length]!;
  // Ingest's invariant: first_seen_at is at or before each of the profile's events.
  for (const event of generated.events) {
    const profile = owner(event.profile);
    profile.firstSeenAt = Math.min(profile.firstSeenAt, event.at);
  }
  const profileRows = profiles.map((p) => ({
    id: p.id,
    first_seen_at: new Date(p.firstSeenAt).toISOString(),
    merged_into_id: p.merged ? survivor : null,
  }));
  await prisma.$executeRaw`
    INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at, merged_into_id)
    SELECT r.id, ${workspaceId}::uuid, '{}', r.first_seen_at, ${new Date(NOW.getTime() + 2 * DAY).toISOString()}::timestamptz, r.merged_into_id
    FROM jsonb_to_recordset(${JSON.stringify(profileRows)}::jsonb) AS r(id uuid, first_seen_at timestamptz, merged_into_id uuid)`;
  const eventRows = generated.events.map((e, seq) => ({
    seq,
    profile_id: owner(e.profile).id,
    type: e.type,
    name: e.name,
    properties: e.properties,
    timestamp: new Date(e.at).toISOString(),
    message_id: randomUUID(),
  }));
  // In array order, so that ids (arrival order) match the evaluator's seq.
  await prisma.$executeRaw`
    INSERT INTO events (workspace_id, profile_id, source_id, message_id, type, name, properties, timestamp, received_at)
    SELECT ${workspaceId}::uuid, r.profile_id, ${workspaceId}::uuid, r.message_id, r.type, r.name, r.properties, r.timestamp, r.timestamp
    FROM jsonb_to_recordset(${JSON.stringify(eventRows)}::jsonb)
      AS r(seq int, profile_id uuid, message_id text, type text, name text, properties jsonb, timestamp timestamptz)
    ORDER BY r.seq`;
  return {
    workspaceId,
    // Every profile, merged ones too: memberships of a merged-away profile must not count.
    profileIds: profiles.map((p) => p.id),
    data: {
      profiles: profiles
        .filter((p) => !p.merged)
        .map((p) => ({ id: p.id, traits: {}, firstSeenAt: new Date(p.firstSeenAt), lastSeenAt: NOW })),
      events: generated.events.map((e, seq) => ({
        profileId: owner(e.profile).id,
        type: e.type,
        name: e.name,
        properties: e.properties,
        timestamp: new Date(e.at),
        seq,
      })),
    },
  };
}

/** A description of the first disagreement, or undefined; numbers agree to 1e-9 relative. */
function difference(fromSql: Map<string, unknown>, expected: Map<string, unknown>): string | undefined {
  for (const id of new Set([...fromSql.keys(), ...expected.keys()])) {
    const a = fromSql.get(id);
    const b = expected.get(id);
    if (!same(a, b)) return `profile ${id}: sql ${JSON.stringify(a)}, evaluator ${JSON.stringify(b)}`;
  }
  return undefined;
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return JSON.stringify(a) === JSON.stringify(b);
}
