import { ManualClock } from '../../src/common/clock';
import { MembershipService } from '../../src/membership/membership.service';
import { createWorkspace, startTestApp, TEST_ADMIN_TOKEN, TestApp } from '../support/app';
import { waitFor } from '../support/wait-for';
import { TestSql } from '../tracking/tracking-support';
import { DAY, ledgerProblems, MembershipFixtures } from './membership-support';

const START = new Date('2026-06-01T12:00:00.000Z');

describe('membership engine (ManualClock)', () => {
  let app: TestApp;
  let sql: TestSql;
  let clock: ManualClock;
  let engine: MembershipService;

  beforeAll(async () => {
    clock = new ManualClock(START);
    app = await startTestApp({}, { clock });
    sql = await TestSql.connect(app);
    engine = app.personae.app.get(MembershipService);
  });

  afterAll(async () => {
    await sql.close();
    await app.close();
  });

  async function fixtures(): Promise<MembershipFixtures> {
    const workspace = await createWorkspace(app);
    return new MembershipFixtures(sql, workspace.workspaceId, workspace.sourceId);
  }

  async function compute(
    f: MembershipFixtures,
    audienceId: string,
    reason: 'created' | 'updated' | 'scheduled' = 'scheduled',
  ) {
    return engine.compute({ workspaceId: f.workspaceId, audienceId, reason });
  }

  it('computes the target set: everyone qualifying enters once, a second computation changes nothing', async () => {
    const f = await fixtures();
    const buyers = [await f.profile(), await f.profile()];
    const other = await f.profile();
    for (const p of buyers) await f.event(p, 'Order Completed', new Date(START.getTime() - DAY));
    await f.event(other, 'Signed Up', new Date(START.getTime() - DAY));
    const audience = await f.audience('buyers', 'performed "Order Completed"');

    expect(await compute(f, audience, 'created')).toMatchObject({
      kind: 'computed',
      entered: 2,
      exited: 0,
      memberCount: 2,
    });
    expect(await f.members(audience)).toEqual([...buyers].sort());
    expect(await f.audienceRow(audience)).toMatchObject({ status: 'ready', member_count: 2, last_computed_at: START });

    expect(await compute(f, audience)).toMatchObject({ entered: 0, exited: 0, memberCount: 2 });
    expect(await f.transitions(audience)).toHaveLength(2);
    expect(await ledgerProblems(sql, audience)).toEqual([]);
  });

  it('moves people out and back in as time passes, with no new events', async () => {
    const f = await fixtures();
    const recent = await f.profile();
    const old = await f.profile();
    await f.event(recent, 'Login', new Date(START.getTime() - 2 * DAY));
    await f.event(old, 'Login', new Date(START.getTime() - 20 * DAY));
    const active = await f.audience('active-week', 'performed "Login" within 7 days');
    const dormant = await f.audience('dormant', 'inactive 30 days');

    await compute(f, active, 'created');
    await compute(f, dormant, 'created');
    expect(await f.members(active)).toEqual([recent]);
    expect(await f.members(dormant)).toEqual([]);

    clock.advance(6 * DAY); // the recent login is now 8 days old
    await compute(f, active);
    expect(await f.members(active)).toEqual([]);

    clock.advance(5 * DAY); // the old login is now 31 days old
    await compute(f, dormant);
    expect(await f.members(dormant)).toEqual([old]);

    // As ingestion leaves it: the profile's last seen behind its events, not yet evaluated. A full
    // computation applies its queued profiles' first/last seen before it reads the profiles.
    await f.event(old, 'Login', clock.now(), {}, { deferSeen: true, heldForMs: 3_600_000 });
    await compute(f, active);
    await compute(f, dormant);
    expect(await f.members(active)).toEqual([old]);
    expect(await f.members(dormant)).toEqual([]);
    expect((await f.transitions(active)).map((t) => t.kind)).toEqual(['entered', 'exited', 'entered']);
    expect(await ledgerProblems(sql, active)).toEqual([]);
    expect(await ledgerProblems(sql, dormant)).toEqual([]);
    clock.set(START);
  });

  it('recomputes on a definition edit and records the version that decided each transition', async () => {
    const f = await fixtures();
    const pro = await f.profile({ traits: { plan: 'Pro' } });
    const free = await f.profile({ traits: { plan: 'Free' } });
    const audience = await f.audience('plan', 'trait plan = "Pro"');
    await compute(f, audience, 'created');
    expect(await f.members(audience)).toEqual([pro]);

    await f.redefine(audience, 'trait plan = "Free"');
    expect(await compute(f, audience, 'updated')).toMatchObject({ version: 2, entered: 1, exited: 1 });
    expect(await f.members(audience)).toEqual([free]);
    expect(await f.transitions(audience)).toEqual([
      { profile_id: pro, kind: 'entered', audience_version: 1 },
      expect.objectContaining({ kind: expect.any(String), audience_version: 2 }),
      expect.objectContaining({ kind: expect.any(String), audience_version: 2 }),
    ]);
    const v2 = (await f.transitions(audience)).slice(1);
    expect(v2).toEqual(
      expect.arrayContaining([
        { profile_id: pro, kind: 'exited', audience_version: 2 },
        { profile_id: free, kind: 'entered', audience_version: 2 },
      ]),
    );
  });

  it('evaluates changed profiles in real time through the outbox relay', async () => {
    const f = await fixtures();
    const profile = await f.profile();
    const audience = await f.audience('buyers-rt', 'performed "Order Completed" at least 2 times');
    const prospects = await f.audience('prospects-rt', 'never performed "Order Completed"');
    await compute(f, audience, 'created');
    await compute(f, prospects, 'created');
    expect(await f.members(audience)).toEqual([]);
    expect(await f.members(prospects)).toEqual([profile]);

    await f.event(profile, 'Order Completed', new Date(START.getTime() - 1000));
    await f.changed(profile);
    // One order is not enough: the outbox row is consumed and nothing changes.
    // The first order moves the profile out of prospects; one order is not enough to be a buyer.
    await waitFor(async () => (await f.members(prospects)).length === 0, { what: 'profile to exit' });
    expect(await f.members(audience)).toEqual([]);

    await f.event(profile, 'Order Completed', new Date(START.getTime() - 500));
    await f.changed(profile, profile, profile);
    await waitFor(async () => (await f.members(audience)).length === 1, { what: 'profile to enter' });
    expect(await f.audienceRow(audience)).toMatchObject({ member_count: 1 });
    expect(await f.transitions(audience)).toEqual([{ profile_id: profile, kind: 'entered', audience_version: 1 }]);
    expect((await f.transitions(prospects)).map((t) => t.kind)).toEqual(['entered', 'exited']);
  });

  it('evaluating profiles one by one gives the same members as a full computation', async () => {
    const f = await fixtures();
    const names = ['Login', 'Product Added', 'Order Completed'];
    const profiles: string[] = [];
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let i = 0; i < 24; i += 1) {
      const profile = await f.profile({ traits: { plan: i % 2 ? 'Pro' : 'Free' } });
      profiles.push(profile);
      const events = Math.floor(random() * 6);
      for (let e = 0; e < events; e += 1) {
        const name = names[Math.floor(random() * names.length)]!;
        await f.event(profile, name, new Date(START.getTime() - Math.floor(random() * 40) * DAY - 1000), {
          total: Math.floor(random() * 200),
        });
      }
    }
    const definitions = [
      'performed "Order Completed" at least 2 times within 30 days',
      'performed "Login" exactly 1 time where total > 50',
      'performed "Product Added" then not performed "Order Completed" within 2 days',
      'performed "Login" then performed "Order Completed"',
      'first performed "Product Added" within 10 days or last performed "Login" before 20 days ago',
      'inactive 14 days and trait plan = "Pro"',
      'not active within 7 days and never performed "Order Completed"',
    ];
    const sizes: number[] = [];
    for (const [index, definition] of definitions.entries()) {
      const full = await f.audience(`full-${index}`, definition);
      const incremental = await f.audience(`incremental-${index}`, definition);
      await compute(f, full, 'created');
      for (const profile of profiles) await engine.evaluateProfiles(f.workspaceId, [profile]);
      expect({ definition, members: await f.members(incremental) }).toEqual({
        definition,
        members: await f.members(full),
      });
      sizes.push((await f.members(full)).length);
    }
    // The comparison means something only if the definitions split the profiles.
    expect(sizes.filter((n) => n > 0 && n < profiles.length).length).toBeGreaterThanOrEqual(5);
  });

  it('a merged-away profile exits and the survivor enters with the merged events', async () => {
    const f = await fixtures();
    const loser = await f.profile();
    const survivor = await f.profile();
    await f.event(loser, 'Order Completed', new Date(START.getTime() - 2 * DAY));
    await f.event(survivor, 'Order Completed', new Date(START.getTime() - DAY));
    const once = await f.audience('once', 'performed "Order Completed" exactly 1 time');
    const twice = await f.audience('twice', 'performed "Order Completed" at least 2 times');
    await compute(f, once, 'created');
    await compute(f, twice, 'created');
    expect(await f.members(once)).toEqual([loser, survivor].sort());

    // What identity resolution does on a merge, in one transaction.
    await sql.rows('BEGIN');
    await sql.rows('UPDATE profiles SET merged_into_id = $2 WHERE id = $1', [loser, survivor]);
    await sql.rows('UPDATE events SET profile_id = $2 WHERE profile_id = $1', [loser, survivor]);
    await f.changed(loser, survivor);
    await sql.rows('COMMIT');

    await waitFor(async () => (await f.members(twice)).length === 1 && (await f.members(once)).length === 0, {
      what: 'merge to be evaluated',
    });
    expect(await f.members(twice)).toEqual([survivor]);
    for (const id of [once, twice]) expect(await ledgerProblems(sql, id)).toEqual([]);
  });

  it('an erased profile leaves its audiences through the ledger, not by vanishing from it', async () => {
    const workspace = await createWorkspace(app);
    const f = new MembershipFixtures(sql, workspace.workspaceId, workspace.sourceId);
    const erased = await f.profile();
    const kept = await f.profile();
    for (const p of [erased, kept]) await f.event(p, 'Order Completed', new Date(START.getTime() - DAY));
    const buyers = await f.audience('erasure-buyers', 'performed "Order Completed"');
    await compute(f, buyers, 'created');
    expect(await f.audienceRow(buyers)).toMatchObject({ member_count: 2 });
    const metrics = (await app.http().get('/metrics').set('authorization', `Bearer ${TEST_ADMIN_TOKEN}`).expect(200))
      .text;
    expect(metrics).toMatch(/^personae_audience_transitions_total\{kind="entered"\} [1-9]\d*$/m);

    await app.http().delete(`/api/profiles/${erased}`).set('authorization', `Bearer ${workspace.apiToken}`).expect(200);

    expect(await f.members(buyers)).toEqual([kept]);
    expect(await f.audienceRow(buyers)).toMatchObject({ member_count: 1 });
    const ofErased = (await f.transitions(buyers)).filter((t) => t.profile_id === erased).map((t) => t.kind);
    expect(ofErased).toEqual(['entered', 'exited']);
    expect(await ledgerProblems(sql, buyers)).toEqual([]);
  });

  it('without historical data, event conditions only see events from the audience start', async () => {
    const f = await fixtures();
    const veteran = await f.profile({ traits: { plan: 'Pro' } });
    const newcomer = await f.profile({ traits: { plan: 'Pro' } });
    await f.event(veteran, 'Order Completed', new Date(START.getTime() - 10 * DAY));
    const historical = await f.audience('hist', 'performed "Order Completed" and trait plan = "Pro"');
    const fresh = await f.audience('fresh', 'performed "Order Completed" and trait plan = "Pro"', {
      includeHistoricalData: false,
      historyStartsAt: START,
    });
    const inactive = await f.audience('quiet', 'inactive 7 days', {
      includeHistoricalData: false,
      historyStartsAt: START,
    });
    for (const id of [historical, fresh, inactive]) await compute(f, id, 'created');
    expect(await f.members(historical)).toEqual([veteran]);
    expect(await f.members(fresh)).toEqual([]);
    // Traits are always current, events before the start are unknown: both look inactive.
    expect(await f.members(inactive)).toEqual([veteran, newcomer].sort());

    clock.advance(DAY);
    await f.event(newcomer, 'Order Completed', clock.now());
    await f.changed(newcomer);
    await waitFor(async () => (await f.members(fresh)).length === 1 && (await f.members(inactive)).length === 1, {
      what: 'newcomer to be evaluated',
    });
    expect(await f.members(fresh)).toEqual([newcomer]);
    expect(await f.members(historical)).toEqual([veteran, newcomer].sort());
    expect(await f.members(inactive)).toEqual([veteran]);
    clock.set(START);
  });

  it('computes audiences after the audiences they reference', async () => {
    const f = await fixtures();
    const vip = await f.profile({ traits: { plan: 'Pro' } });
    const base = await f.audience('base', 'performed "Order Completed"');
    const dependent = await f.audience('pro-buyers', 'in audience "base" and trait plan = "Pro"');
    await compute(f, base, 'created');
    await compute(f, dependent, 'created');
    expect(await f.members(dependent)).toEqual([]);

    await f.event(vip, 'Order Completed', new Date(START.getTime() - 1000));
    // A full computation of base that changes membership queues a computation of its dependent.
    await compute(f, base);
    await waitFor(async () => (await f.members(dependent)).length === 1, { what: 'dependent audience' });

    // In real time both are evaluated in one job, the referenced audience first.
    const other = await f.profile({ traits: { plan: 'Pro' } });
    await f.event(other, 'Order Completed', new Date(START.getTime() - 1000));
    await f.changed(other);
    await waitFor(async () => (await f.members(dependent)).includes(other), { what: 'dependent in real time' });
  });
});
