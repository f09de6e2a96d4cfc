/**
 * The SQL compiler against the reference evaluator: random datasets in a real Postgres, random
 * definitions over them, and both must pick the same profiles. Values are drawn from small pools
 * so that conditions actually hit the data: timestamps on window boundaries (to the millisecond),
 * offsets other than UTC, numbers stored as strings, nulls and missing keys, quotes and Unicode.
 * Profiles keep the invariant ingest guarantees (first/last seen bracket their events, see
 * seenAroundEvents), which the compiler relies on and the evaluator does not need.
 *
 * Every definition is also compiled in batch form (CompileContext.batch) and run as real-time
 * batches run it; it must pick the same profiles.
 *
 * Reproduce a failure with the seed and path fast-check prints: FC_SEED=<seed> FC_PATH=<path>.
 * More cases: AUDIENCE_DIFF_RUNS=200 (each run is one dataset and AUDIENCE_DIFF_ASTS definitions).
 */
import { randomUUID } from 'node:crypto';

import fc from 'fast-check';

import { AudienceAst, Duration } from '../../src/audiences/language/audience-ast';
import { printAudience } from '../../src/audiences/language/audience-printer';
import { compileAudiencePredicate } from '../../src/audiences/language/compiler/audience-compiler';
import { Prisma, PrismaClient } from '../../src/generated/prisma/client';
import { AstPools, audienceArbitrary } from '../oracles/audience-arbitrary';
import { evaluateAudience, EvaluatorData } from '../oracles/reference-evaluator';
import { createTestPrisma, TestPrisma } from '../support/database';
import { scaled } from '../support/time-scale';

const RUNS = Number(process.env.AUDIENCE_DIFF_RUNS ?? 40);
const ASTS_PER_RUN = Number(process.env.AUDIENCE_DIFF_ASTS ?? 25);

const NOW = new Date('2026-11-22T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const DURATIONS: Duration[] = [
  { amount: 30, unit: 'minutes' },
  { amount: 1, unit: 'hours' },
  { amount: 1, unit: 'days' },
  { amount: 7, unit: 'days' },
  { amount: 30, unit: 'days' },
  { amount: 2, unit: 'weeks' },
];
const DURATION_MS = [30 * MINUTE, HOUR, DAY, 7 * DAY, 30 * DAY, 14 * DAY];

/** Date literals used by definitions; the data below puts values and events exactly on them. */
const DATE_LITERALS = [
  '2026-11-01',
  '2026-11-20',
  '2026-10-23T12:00:00Z',
  '2026-11-20T10:00:00+05:30',
  '2026-11-21T23:30:00.5-08:00',
];
const DATE_LITERAL_MS = DATE_LITERALS.map((d) => Date.parse(d));

/** Instants worth testing: window edges (now - d, exactly and 1 ms either side), now, the future. */
const BOUNDARY_MS = [
  NOW.getTime(),
  NOW.getTime() - 1,
  NOW.getTime() + 1,
  NOW.getTime() + HOUR,
  ...DURATION_MS.flatMap((d) => [NOW.getTime() - d, NOW.getTime() - d - 1, NOW.getTime() - d + 1]),
  ...DATE_LITERAL_MS.flatMap((t) => [t, t - 1, t + 1]),
  // Pairs exactly one conversion window apart, for sequences.
  NOW.getTime() - 3 * HOUR,
  NOW.getTime() - 2 * HOUR,
  NOW.getTime() - 2 * HOUR - 30 * MINUTE,
];

const instantMs = fc.oneof(
  fc.constantFrom(...BOUNDARY_MS),
  fc.integer({ min: NOW.getTime() - 60 * DAY, max: NOW.getTime() + DAY }),
);

/** An ISO string of the instant in some offset, as SDKs send them. */
function isoWithOffset(ms: number, offsetMinutes: number): string {
  const local = new Date(ms + offsetMinutes * MINUTE).toISOString().slice(0, -1);
  if (offsetMinutes === 0) return `${local}Z`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
const timestamp = fc
  .tuple(instantMs, fc.constantFrom(0, 0, 330, -480, 60, 345))
  .map(([ms, offset]) => isoWithOffset(ms, offset));

const EVENT_NAMES = ['Order Completed', 'Tutorial Viewed', 'Product Added', 'Ünïcödé "quoted" \\ 🎉'];
const AUDIENCE_KEYS = ['trial-users', 'vip "gold"'];
const TRAIT_KEYS = ['logins_7d', 'top "category"'];
const KEYS = ['plan', 'total', 'flag', 'when', 'name "q"', 'ünï'];
const STRINGS = ['Pro', 'pro', 'Pro Annual', '', 'é', '🎉x', 'say "hi"', '\\', "'; DROP TABLE x; --", 'true'];
const NUMBERS = [42, 42.5, 0, -1, 100, 400];
const NUMERIC_STRINGS = ['42', '42.0', '042', ' 42', '4e2', '-1', '100.5', '1e2', '-0'];
const DATE_STRINGS = [
  '2026-11-20',
  '2026-11-20T10:00:00+05:30',
  '2026-11-20 04:30:00',
  '2026-11-20T04:30:00.000Z',
  '2026-10-23T12:00:00Z',
  '2026-10-23T12:00:00.001Z',
  '2026-11-22T11:30:00Z',
  '2026-02-30',
  '2026-11-21T23:30:00.500-08:00',
  '2026-11-22T04:00:00.000-08:00',
];

const scalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...STRINGS),
  fc.constantFrom(...NUMBERS),
  fc.constantFrom(...NUMERIC_STRINGS),
  fc.constantFrom(...DATE_STRINGS),
  timestamp,
  fc.boolean(),
  fc.constant(null),
);
const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: scalar },
  { weight: 1, arbitrary: fc.record({ x: scalar }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 2 }) },
);
/**
 * Traits and properties. Most keys hold values of one kind, as real data does, so that tests on
 * them often split the profiles; the last keys hold anything.
 */
const document: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    plan: fc.oneof(fc.constantFrom(...STRINGS), fc.constant(null)),
    total: fc.oneof(fc.constantFrom(...NUMBERS), fc.constantFrom(...NUMERIC_STRINGS)),
    flag: fc.constantFrom(true, false, 'true', null),
    when: fc.oneof(fc.constantFrom(...DATE_STRINGS), timestamp),
    'name "q"': scalar,
    ünï: scalar,
    nested: jsonValue,
    arr: fc.array(scalar, { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

interface ProfileRow {
  id: string;
  traits: Record<string, unknown>;
  first_seen_at: string;
  last_seen_at: string;
  merged: boolean;
}
interface EventRow {
  profile: number;
  type: string;
  name: string | null;
  properties: Record<string, unknown>;
  timestamp: string;
}
interface Dataset<P = ProfileRow> {
  profiles: P[];
  events: EventRow[];
  members: Record<string, number[]>;
  /** Computed trait values: trait key → [profile index, value]; a later entry for a profile wins. */
  computed: Record<string, [number, unknown][]>;
  eventsSince: string | null;
}

const profileRow: fc.Arbitrary<Omit<ProfileRow, 'id'>> = fc.record({
  traits: document,
  first_seen_at: timestamp,
  last_seen_at: timestamp,
  merged: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
});
const eventRow: fc.Arbitrary<EventRow> = fc.record({
  profile: fc.nat(),
  type: fc.constantFrom('track', 'track', 'track', 'track', 'page', 'identify', 'screen'),
  name: fc.constantFrom(...EVENT_NAMES),
  properties: document,
  timestamp,
});
const dataset: fc.Arbitrary<Dataset<Omit<ProfileRow, 'id'>>> = fc.record({
  profiles: fc.array(profileRow, { minLength: 3, maxLength: 8 }),
  events: fc.array(eventRow, { minLength: 3, maxLength: 40 }),
  members: fc.record({
    'trial-users': fc.array(fc.nat(), { maxLength: 4 }),
    'vip "gold"': fc.array(fc.nat(), { maxLength: 4 }),
  }),
  computed: fc.record({
    logins_7d: fc.array(fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(...NUMBERS), fc.constantFrom(0, 1, 3))), {
      maxLength: 6,
    }),
    'top "category"': fc.array(
      fc.tuple(
        fc.nat(),
        scalar.filter((v) => v !== null),
      ),
      { maxLength: 6 },
    ),
  }),
  eventsSince: fc.option(timestamp, { freq: 3 }),
});

const pools: AstPools = {
  events: fc.constantFrom(...EVENT_NAMES, 'Never Sent'),
  paths: fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...KEYS).map((k) => [k]) },
    { weight: 1, arbitrary: fc.constantFrom<string[]>(['nested', 'x'], ['arr', '0'], ['arr', '-1'], ['missing']) },
  ),
  strings: fc.constantFrom(...STRINGS, 'Pr', 'an', '"', ...NUMERIC_STRINGS.slice(0, 2), ...DATE_STRINGS.slice(0, 2)),
  numbers: fc.constantFrom(...NUMBERS, -0, 42.0000001),
  dates: fc.constantFrom(...DATE_LITERALS),
  durations: fc.constantFrom(...DURATIONS),
  counts: fc.integer({ min: 0, max: 4 }),
  audiences: fc.constantFrom(...AUDIENCE_KEYS, 'missing'),
  computed: fc.constantFrom(...TRAIT_KEYS, 'missing'),
};

describe('audience compiler vs reference evaluator', () => {
  let testPrisma: TestPrisma;
  let prisma: PrismaClient;

  beforeAll(async () => {
    testPrisma = await createTestPrisma();
    prisma = testPrisma.prisma;
  });

  afterAll(() => testPrisma?.close());

  async function insert(data: Dataset): Promise<string> {
    const workspaceId = randomUUID();
    await prisma.$executeRaw`INSERT INTO workspaces (id, name) VALUES (${workspaceId}::uuid, 'differential')`;
    const survivor = data.profiles.find((p) => !p.merged)?.id;
    const profiles = data.profiles.map((p) => ({ ...p, merged_into_id: p.merged ? survivor : null }));
    await prisma.$executeRaw`
      INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at, merged_into_id)
      SELECT r.id, ${workspaceId}::uuid, r.traits, r.first_seen_at, r.last_seen_at, r.merged_into_id
      FROM jsonb_to_recordset(${JSON.stringify(profiles)}::jsonb)
        AS r(id uuid, traits jsonb, first_seen_at timestamptz, last_seen_at timestamptz, merged_into_id uuid)`;
    const events = data.events.map((e) => ({
      profile_id: profileFor(data, e.profile).id,
      type: e.type,
      name: e.type === 'identify' ? null : e.name,
      properties: e.properties,
      timestamp: e.timestamp,
      message_id: randomUUID(),
    }));
    await prisma.$executeRaw`
      INSERT INTO events (workspace_id, profile_id, source_id, message_id, type, name, properties, timestamp, received_at)
      SELECT ${workspaceId}::uuid, r.profile_id, ${workspaceId}::uuid, r.message_id, r.type, r.name, r.properties,
        r.timestamp, r.timestamp
      FROM jsonb_to_recordset(${JSON.stringify(events)}::jsonb)
        AS r(profile_id uuid, message_id text, type text, name text, properties jsonb, timestamp timestamptz)`;
    for (const [key, indexes] of Object.entries(data.members)) {
      const audienceId = randomUUID();
      await prisma.$executeRaw`
        INSERT INTO audiences (id, workspace_id, key, name, definition_ast, definition_text)
        VALUES (${audienceId}::uuid, ${workspaceId}::uuid, ${key}, ${key}, '{}', '')`;
      const ids = [...new Set(indexes.map((i) => profileFor(data, i).id))];
      await prisma.$executeRaw`
        INSERT INTO audience_members (audience_id, profile_id, entered_at)
        SELECT ${audienceId}::uuid, id, ${NOW.toISOString()}::timestamptz FROM unnest(${ids}::uuid[]) AS id`;
    }
    for (const [key, values] of Object.entries(data.computed)) {
      const traitId = randomUUID();
      await prisma.$executeRaw`
        INSERT INTO computed_traits (id, workspace_id, key, name, definition_ast, definition_text)
        VALUES (${traitId}::uuid, ${workspaceId}::uuid, ${key}, ${key}, '{}', '')`;
      const rows = [...computedValues(data, values)].map(([id, value]) => ({ id, value }));
      await prisma.$executeRaw`
        INSERT INTO computed_trait_values (trait_id, workspace_id, profile_id, value, updated_at)
        SELECT ${traitId}::uuid, ${workspaceId}::uuid, r.id, r.value, now()
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(id uuid, value jsonb)`;
    }
    return workspaceId;
  }

  /** Profile id → value of one trait; the last value given for a profile wins. */
  function computedValues(data: Dataset, values: [number, unknown][]): Map<string, unknown> {
    return new Map(values.map(([index, value]) => [profileFor(data, index).id, value]));
  }

  function profileFor(data: Dataset, index: number): ProfileRow {
    return data.profiles[index % data.profiles.length] as ProfileRow;
  }

  function evaluatorData(data: Dataset): EvaluatorData {
    return {
      profiles: data.profiles
        .filter((p) => !p.merged)
        .map((p) => ({
          id: p.id,
          traits: p.traits,
          firstSeenAt: new Date(p.first_seen_at),
          lastSeenAt: new Date(p.last_seen_at),
        })),
      events: data.events.map((e) => ({
        profileId: profileFor(data, e.profile).id,
        type: e.type,
        name: e.type === 'identify' ? null : e.name,
        properties: e.properties,
        timestamp: new Date(e.timestamp),
      })),
      computed: new Map(Object.entries(data.computed).map(([key, values]) => [key, computedValues(data, values)])),
      memberships: new Map(
        Object.entries(data.members).map(([key, indexes]) => [
          key,
          new Set(indexes.map((i) => profileFor(data, i).id)),
        ]),
      ),
    };
  }

  it('picks the same profiles as the evaluator', async () => {
    const started = Date.now();
    let compared = 0;
    // Definitions that split the profiles (some match, some do not) are the ones that test anything.
    let discriminating = 0;
    await fc.assert(
      fc.asyncProperty(
        dataset,
        fc.array(audienceArbitrary(pools, 2), { minLength: ASTS_PER_RUN, maxLength: ASTS_PER_RUN }),
        async (generated, asts) => {
          // Fresh ids per run: shrinking replays datasets, and ids are only labels. A merged profile
          // needs a live one to be merged into.
          const anyLive = generated.profiles.some((p) => !p.merged);
          const data: Dataset = seenAroundEvents({
            ...generated,
            profiles: generated.profiles.map((p) => ({ ...p, id: randomUUID(), merged: p.merged && anyLive })),
          });
          const workspaceId = await insert(data);
          const eventsSince = data.eventsSince === null ? null : new Date(data.eventsSince);
          const inMemory = evaluatorData(data);
          for (const ast of asts) {
            const predicate = compileAudiencePredicate(ast, { workspaceId, now: NOW, eventsSince });
            const rows = await prisma.$queryRaw<{ id: string }[]>(
              Prisma.sql`SELECT p.id FROM profiles p WHERE p.workspace_id = ${workspaceId}::uuid AND p.merged_into_id IS NULL AND ${predicate}`,
            );
            const fromSql = rows.map((r) => r.id).sort();
            const fromEvaluator = evaluateAudience(ast, inMemory, { now: NOW, eventsSince }).sort();
            compared++;
            if (fromSql.length > 0 && fromSql.length < inMemory.profiles.length) discriminating++;
            if (JSON.stringify(fromSql) !== JSON.stringify(fromEvaluator)) {
              throw new Error(mismatch(ast, fromSql, fromEvaluator, predicate));
            }
            // The batch form, as real-time batches run it: `events` shadowed by the profiles' events,
            // materialized (see batchDiffStatement in src/membership).
            const batchPredicate = compileAudiencePredicate(ast, { workspaceId, now: NOW, eventsSince, batch: true });
            const batchRows = await prisma.$queryRaw<{ id: string }[]>(
              Prisma.sql`WITH events AS MATERIALIZED (
                SELECT e.workspace_id, e.profile_id, e.type, e.name, e.timestamp, e.properties
                FROM events e WHERE e.workspace_id = ${workspaceId}::uuid
              )
              SELECT p.id FROM profiles p WHERE p.workspace_id = ${workspaceId}::uuid AND p.merged_into_id IS NULL AND ${batchPredicate}`,
            );
            const fromBatch = batchRows.map((r) => r.id).sort();
            if (JSON.stringify(fromBatch) !== JSON.stringify(fromEvaluator)) {
              throw new Error(mismatch(ast, fromBatch, fromEvaluator, batchPredicate));
            }
          }
        },
      ),
      {
        numRuns: RUNS,
        seed: process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED),
        path: process.env.FC_PATH,
        // Shrinking re-inserts a dataset per attempt; a bounded budget keeps a failing run readable.
        interruptAfterTimeLimit: scaled(120_000),
        markInterruptAsFailure: false,
      },
    );
    process.stdout.write(
      `compared ${compared} definitions (${discriminating} split the profiles) in ${Date.now() - started} ms\n`,
    );
    expect(compared).toBeGreaterThanOrEqual(RUNS * ASTS_PER_RUN);
    expect(discriminating).toBeGreaterThan(compared / 8);
  }, 300_000);
});

/**
 * What ingest guarantees and the compiler relies on: a profile's first_seen_at is at or before each
 * of its events and last_seen_at at or after (future-stamped ones included). Widens the generated
 * first/last seen to cover the profile's events, keeping the generated instant (and its offset)
 * where it already does.
 */
function seenAroundEvents(data: Dataset): Dataset {
  const profiles = data.profiles.map((profile, index) => {
    let { first_seen_at: first, last_seen_at: last } = profile;
    for (const event of data.events) {
      if (event.profile % data.profiles.length !== index) continue;
      if (Date.parse(event.timestamp) < Date.parse(first)) first = event.timestamp;
      if (Date.parse(event.timestamp) > Date.parse(last)) last = event.timestamp;
    }
    return { ...profile, first_seen_at: first, last_seen_at: last };
  });
  return { ...data, profiles };
}

function mismatch(ast: AudienceAst, fromSql: string[], fromEvaluator: string[], predicate: Prisma.Sql): string {
  return [
    `definition: ${printAudience(ast)}`,
    `sql picked:       ${JSON.stringify(fromSql)}`,
    `evaluator picked: ${JSON.stringify(fromEvaluator)}`,
    `predicate: ${predicate.sql}`,
    `values: ${JSON.stringify(predicate.values)}`,
  ].join('\n');
}
