import { createHash } from 'node:crypto';

import { Client } from 'pg';

import { escapeCopyText, EVENTS, IDENTITIES, PROFILES } from '../../bench/generator/copy-text';
import { DatasetStats } from '../../bench/generator/dataset-stats';
import { writeDataset } from '../../bench/generator/writer';
import { EVENT } from '../../src/demo/generator/catalog';
import { type Dataset, generateDataset } from '../../src/demo/generator/dataset';
import { TooFewEventsError } from '../../src/demo/generator/population';
import type { ProfileJourney } from '../../src/demo/generator/rows';
import { createTestDatabase, type TestDatabase } from '../support/database';

const SMALL = { profiles: 200, events: 3000 } as const;

function copyText(dataset: Dataset): { profiles: string; identities: string; events: string } {
  let profiles = '';
  let identities = '';
  let events = '';
  for (const journey of dataset.journeys()) {
    profiles += PROFILES.line(journey.profile);
    for (const identity of journey.identities) identities += IDENTITIES.line(identity);
    for (const event of journey.events) events += EVENTS.line(event);
  }
  return { profiles, identities, events };
}

describe('benchmark data generator', () => {
  describe('determinism', () => {
    it('yields byte-identical rows for the same options', () => {
      const first = generateDataset({ ...SMALL, seed: 7 });
      const second = generateDataset({ ...SMALL, seed: 7 });
      expect(second.workspace).toEqual(first.workspace);
      expect(second.source).toEqual(first.source);
      expect(copyText(second)).toEqual(copyText(first));
    });

    it('streams the same rows however often it is iterated', () => {
      const dataset = generateDataset({ ...SMALL, seed: 7 });
      expect(copyText(dataset)).toEqual(copyText(dataset));
    });

    it('yields different rows, ids included, for a different seed', () => {
      const a = generateDataset({ ...SMALL, seed: 1 });
      const b = generateDataset({ ...SMALL, seed: 2 });
      expect(b.workspace.id).not.toEqual(a.workspace.id);
      const textA = copyText(a);
      const textB = copyText(b);
      expect(textB.events).not.toEqual(textA.events);
      expect(textB.profiles).not.toEqual(textA.profiles);
      const idsA = new Set([...a.profiles()].map((profile) => profile.id));
      expect([...b.profiles()].some((profile) => idsA.has(profile.id))).toBe(false);
    });

    it('does not depend on the wall clock: now and the window come from the options', () => {
      const dataset = generateDataset({ ...SMALL, now: '2025-03-31T12:00:00Z', months: 2 });
      expect(dataset.options.now).toBe('2025-03-31T12:00:00.000Z');
      expect(dataset.options.windowStart).toBe('2025-01-31T12:00:00.000Z');
    });
  });

  describe('invariants', () => {
    const dataset = generateDataset({ profiles: 500, events: 8000, seed: 42 });
    const journeys: ProfileJourney[] = [...dataset.journeys()];
    const events = journeys.flatMap((journey) => journey.events);
    const identities = journeys.flatMap((journey) => journey.identities);

    it('produces exactly the requested number of profiles and events', () => {
      expect(journeys).toHaveLength(500);
      expect(events).toHaveLength(8000);
    });

    it('sets first and last seen to the min and max of each profile’s event timestamps', () => {
      for (const { profile, events: own } of journeys) {
        const stamps = own.map((event) => event.timestamp).sort();
        expect(own.length).toBeGreaterThan(0);
        expect(profile.firstSeenAt).toBe(stamps[0]);
        expect(profile.lastSeenAt).toBe(stamps[stamps.length - 1]);
      }
    });

    it('keeps every timestamp inside the window before now', () => {
      const { windowStart, now } = dataset.options;
      for (const event of events) {
        expect(event.timestamp >= windowStart && event.timestamp < now).toBe(true);
        expect(event.receivedAt > event.timestamp).toBe(true);
      }
    });

    it('gives every event a unique message id and an existing profile', () => {
      expect(new Set(events.map((event) => event.messageId)).size).toBe(events.length);
      const profileIds = new Set(journeys.map((journey) => journey.profile.id));
      expect(profileIds.size).toBe(journeys.length);
      expect(events.every((event) => profileIds.has(event.profileId))).toBe(true);
      expect(identities.every((identity) => profileIds.has(identity.profileId))).toBe(true);
    });

    it('keeps identities unique on (workspace, type, value), with an anonymous id for everyone', () => {
      const keys = identities.map((identity) => `${identity.workspaceId}|${identity.type}|${identity.value}`);
      expect(new Set(keys).size).toBe(keys.length);
      for (const { profile, identities: own, events: ownEvents } of journeys) {
        const anonymous = own.find((identity) => identity.type === 'anonymous_id');
        expect(anonymous?.profileId).toBe(profile.id);
        expect(ownEvents.every((event) => event.anonymousId === anonymous?.value)).toBe(true);
        const userId = own.find((identity) => identity.type === 'user_id')?.value ?? null;
        const email = own.find((identity) => identity.type === 'email')?.value;
        expect(email === undefined).toBe(userId === null);
        if (email !== undefined) expect((JSON.parse(profile.traits) as { email?: string }).email).toBe(email);
        // Segment semantics: the user id appears from the identify call on, never before it.
        const firstIdentified = ownEvents.findIndex((event) => event.userId !== null);
        if (userId === null) expect(firstIdentified).toBe(-1);
        else expect(ownEvents[firstIdentified]?.type).toBe('identify');
      }
    });

    it('writes valid JSON in every JSON column', () => {
      for (const event of events) {
        expect(() => JSON.parse(event.properties) as unknown).not.toThrow();
        expect(() => JSON.parse(event.context) as unknown).not.toThrow();
        if (event.traits !== null) expect(() => JSON.parse(event.traits ?? '') as unknown).not.toThrow();
      }
    });

    it('has the shape a growth team expects: sign-ups, drop-offs, a long tail, inactive people', () => {
      const stats = new DatasetStats(dataset.options.now);
      journeys.forEach((journey) => stats.observe(journey));
      const shape = stats.snapshot();
      expect(shape.signedUp / shape.profiles).toBeGreaterThan(0.5);
      expect(shape.signedUp / shape.profiles).toBeLessThan(0.7);
      expect(shape.oneEventVisitors).toBeGreaterThan(0);
      expect(shape.inactive30Days).toBeGreaterThan(0);
      expect(shape.signedUpNeverViewedTutorial).toBeGreaterThan(0);
      expect(shape.top1PercentEventShare).toBeGreaterThan(0.05);
      for (const steps of [shape.funnels.signup, shape.funnels.shop]) {
        for (let k = 1; k < steps.length; k += 1) {
          expect(steps[k]?.profiles ?? 0).toBeLessThan(steps[k - 1]?.profiles ?? 0);
          expect(steps[k]?.profiles ?? 0).toBeGreaterThan(0);
        }
      }
      const pages = events.filter((event) => event.type === 'page').map((event) => event.name);
      expect(pages).toContain('Pricing');
      const order = events.find((event) => event.name === EVENT.orderCompleted);
      expect(JSON.parse(order?.properties ?? '{}') as unknown).toMatchObject({
        currency: expect.any(String),
        total: expect.any(Number),
      });
      const withCampaign = events.filter((event) => 'campaign' in (JSON.parse(event.context) as object));
      expect(withCampaign.length).toBeGreaterThan(0);
    });

    it('streams instead of materializing: the first events of a 10M-event dataset take little memory', () => {
      const huge = generateDataset({ profiles: 100_000, events: 10_000_000 });
      const heapBefore = process.memoryUsage().heapUsed;
      const first: string[] = [];
      for (const event of huge.events()) {
        first.push(event.messageId);
        if (first.length === 1000) break;
      }
      expect(first).toHaveLength(1000);
      // Ten million events held at once would take gigabytes; a stream holds a few journeys.
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(200 * 1024 * 1024);
    });

    it('refuses an event count too small for the profiles', () => {
      expect(() => generateDataset({ profiles: 100, events: 100 })).toThrow(TooFewEventsError);
    });
  });

  describe('COPY text', () => {
    it('escapes backslash, tab, newline and carriage return', () => {
      expect(escapeCopyText('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
      expect(escapeCopyText('{"q":"say \\"hi\\""}')).toBe('{"q":"say \\\\"hi\\\\""}');
      expect(escapeCopyText('plain')).toBe('plain');
    });
  });

  describe('loading into Postgres', () => {
    let database: TestDatabase;
    let client: Client;

    beforeAll(async () => {
      database = await createTestDatabase('personae_bench_test');
      client = new Client({ connectionString: database.url });
      await client.connect();
    });

    afterAll(async () => {
      await client?.end();
      await database?.drop();
    });

    async function count(sql: string, params: unknown[] = []): Promise<number> {
      const { rows } = await client.query<{ n: number }>(sql, params);
      return rows[0]?.n ?? -1;
    }

    async function indexDefinitions(): Promise<string[]> {
      const { rows } = await client.query<{ indexdef: string }>(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'events' ORDER BY indexname",
      );
      return rows.map((row) => row.indexdef);
    }

    it('COPYs a small dataset and Postgres agrees with the generator', async () => {
      // A tab, a quote and a backslash in the name exercise the COPY escaping end to end.
      const dataset = generateDataset({ ...SMALL, seed: 42, workspaceName: 'bench\t"quoted" \\ name' });
      const indexesBefore = await indexDefinitions();
      const result = await writeDataset(dataset, {
        databaseUrl: database.url,
        eventIndexes: 'rebuild',
        checksums: true,
      });

      expect(result.rebuiltIndexes).toHaveLength(3);
      expect(await indexDefinitions()).toEqual(indexesBefore);
      const ws = dataset.workspace.id;
      const rows = Object.fromEntries(result.tables.map((table) => [table.table, table.rows]));
      const expectedIdentities = [...dataset.identities()].length;
      expect(rows).toEqual({ workspaces: 1, sources: 1, profiles: 200, identities: expectedIdentities, events: 3000 });

      const { rows: names } = await client.query<{ name: string }>('SELECT name FROM workspaces WHERE id = $1', [ws]);
      expect(names[0]?.name).toBe('bench\t"quoted" \\ name');
      expect(await count('SELECT count(*)::int AS n FROM profiles WHERE workspace_id = $1', [ws])).toBe(200);
      expect(await count('SELECT count(*)::int AS n FROM events WHERE workspace_id = $1', [ws])).toBe(3000);
      expect(await count('SELECT count(*)::int AS n FROM identities WHERE workspace_id = $1', [ws])).toBe(
        expectedIdentities,
      );
      expect(await count('SELECT count(DISTINCT message_id)::int AS n FROM events WHERE workspace_id = $1', [ws])).toBe(
        3000,
      );
      expect(
        await count(
          `SELECT count(*)::int AS n FROM profiles p
             JOIN (SELECT profile_id, min(timestamp) AS lo, max(timestamp) AS hi FROM events GROUP BY profile_id) e
               ON e.profile_id = p.id
            WHERE p.first_seen_at = e.lo AND p.last_seen_at = e.hi`,
        ),
      ).toBe(200);
      expect(
        await count(
          'SELECT count(*)::int AS n FROM events e WHERE NOT EXISTS (SELECT 1 FROM profiles p WHERE p.id = e.profile_id)',
        ),
      ).toBe(0);
      const signedUp = await count("SELECT count(*)::int AS n FROM identities WHERE type = 'user_id'");
      expect(signedUp).toBe(
        await count("SELECT count(DISTINCT profile_id)::int AS n FROM events WHERE name = 'Signed Up'"),
      );
      expect(
        await count("SELECT count(*)::int AS n FROM events WHERE context->'device'->>'type' = 'mobile'"),
      ).toBeGreaterThan(0);
    });

    it('reloads the same workspace to byte-identical rows, event ids included', async () => {
      const dataset = generateDataset({ ...SMALL, seed: 42, workspaceName: 'bench\t"quoted" \\ name' });
      const expected = createHash('md5')
        .update([...dataset.events()].map((event) => `${event.messageId}|${event.timestamp}`).join(','))
        .digest('hex');
      const digest = async (): Promise<string> => {
        const { rows } = await client.query<{ digest: string; lo: string; hi: string }>(
          `SELECT md5(string_agg(message_id || '|' || to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), ',' ORDER BY id)) AS digest,
                  min(id)::text AS lo, max(id)::text AS hi
             FROM events`,
        );
        return `${rows[0]?.digest} ${rows[0]?.lo}-${rows[0]?.hi}`;
      };

      const first = await writeDataset(dataset, { databaseUrl: database.url, eventIndexes: 'keep', checksums: true });
      expect(first.cleared).toBe('truncated');
      const afterFirst = await digest();
      const second = await writeDataset(dataset, { databaseUrl: database.url, eventIndexes: 'keep', checksums: true });
      expect(await digest()).toBe(afterFirst);
      expect(afterFirst).toBe(`${expected} 1-3000`);
      expect(second.tables.map((table) => table.sha256)).toEqual(first.tables.map((table) => table.sha256));
      expect(await count('SELECT count(*)::int AS n FROM profiles')).toBe(200);
    });

    it('leaves other workspaces alone when loading next to them', async () => {
      const other = generateDataset({ profiles: 50, events: 600, seed: 42, workspaceName: 'neighbour' });
      await writeDataset(other, { databaseUrl: database.url });
      const dataset = generateDataset({ ...SMALL, seed: 42, workspaceName: 'bench\t"quoted" \\ name' });
      const result = await writeDataset(dataset, { databaseUrl: database.url });
      expect(result.cleared).toBe('deleted');
      expect(await count('SELECT count(*)::int AS n FROM events WHERE workspace_id = $1', [other.workspace.id])).toBe(
        600,
      );
      expect(await count('SELECT count(*)::int AS n FROM events')).toBe(3600);
      expect(await count('SELECT count(*)::int AS n FROM profiles')).toBe(250);
    });
  });
});
