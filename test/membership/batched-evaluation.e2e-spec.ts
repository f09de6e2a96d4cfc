/**
 * Batched real-time evaluation against one-by-one evaluation: the same random stream of changes
 * (events, trait updates, merges, definition edits, time passing) goes to two workspaces with the
 * same audiences. The batched side's events leave the profile's first/last seen for evaluation to
 * apply from its events, as ingestion does; the one-by-one side's update the profile at once. At
 * every checkpoint one workspace evaluates its changed profiles one at a time with one statement
 * per audience, the other all of them in one batch through the batch
 * participants (one statement per dependency level). Memberships, member counts
 * and ledgers (every transition with its kind, instant and audience version) must be identical.
 *
 * Reproduce a failure with the seed and path fast-check prints: FC_SEED=<seed> FC_PATH=<path>.
 * More cases: BATCH_DIFF_RUNS=100.
 */
import fc from 'fast-check';

import { ManualClock } from '../../src/common/clock';
import { BatchEvaluatorService } from '../../src/membership/batch-evaluator.service';
import { MembershipService } from '../../src/membership/membership.service';
import { applyPendingSeen } from '../../src/profiles/profile-seen';
import { createWorkspace, startTestApp, TestApp } from '../support/app';
import { TestSql } from '../tracking/tracking-support';
import { ledgerProblems, MembershipFixtures } from './membership-support';

const RUNS = Number(process.env.BATCH_DIFF_RUNS ?? 8);
const START = new Date('2026-06-01T12:00:00.000Z');
const MINUTE = 60_000;
const PROFILES = 6;
/** Longer than any run: the outbox rows of the batched side are never claimable by the app's sweep. */
const HELD_MS = 3_600_000;
const NAMES = ['Login', 'Product Added', 'Order Completed'];

/** Every condition family, with `in audience` chains two deep; keys are created in this order. */
const AUDIENCES: [key: string, definition: string][] = [
  ['buyers', 'performed "Order Completed" at least 2 times within 3 days'],
  ['big-logins', 'performed "Login" exactly 1 time where total > 50'],
  ['abandoned', 'performed "Product Added" then not performed "Order Completed" within 1 days'],
  ['converted', 'performed "Login" then performed "Order Completed"'],
  ['first-last', 'first performed "Product Added" within 2 days or last performed "Login" before 1 days ago'],
  ['quiet-pro', 'inactive 1 days and trait plan = "Pro"'],
  ['pro-buyers', 'in audience "buyers" and trait plan = "Pro"'],
  ['not-pro-buyers', 'not in audience "pro-buyers" and active within 2 days'],
  ['seen', 'first seen within 2 days or last seen before 2 days ago'],
];
/** Definitions an edit may switch the first three audiences to (none references another audience). */
const EDITS = [
  'performed "Login" at least 2 times',
  'never performed "Order Completed"',
  'trait plan = "Free" and performed "Product Added" within 1 days',
];

type Step =
  | { kind: 'event'; profile: number; name: string; minutesAgo: number; total: number }
  | { kind: 'trait'; profile: number; plan: string }
  | { kind: 'merge'; from: number; into: number }
  | { kind: 'redefine'; audience: number; edit: number }
  | { kind: 'advance'; hours: number }
  | { kind: 'evaluate' };

const profile = fc.nat(PROFILES - 1);
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('event' as const),
      profile,
      name: fc.constantFrom(...NAMES),
      minutesAgo: fc.oneof(fc.nat(60), fc.nat(4 * 24 * 60)),
      total: fc.nat(100),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('trait' as const), profile, plan: fc.constantFrom('Pro', 'Free') }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('merge' as const), from: profile, into: profile }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('redefine' as const),
      audience: fc.nat(2),
      edit: fc.nat(EDITS.length - 1),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 36 }) }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'evaluate' as const }) },
);

/** One workspace of the comparison: its profiles by index, and which survived merges. */
class Side {
  readonly changed = new Set<string>();
  private readonly survivor = new Map<number, number>();

  constructor(
    readonly f: MembershipFixtures,
    readonly profiles: string[],
    readonly audiences: Map<string, string>,
    readonly deferSeen: boolean,
  ) {}

  /** A merged-away profile's index stands for its survivor from then on. */
  live(index: number): string {
    let i = index;
    while (this.survivor.has(i)) i = this.survivor.get(i)!;
    return this.profiles[i]!;
  }

  async apply(s: Step, clock: ManualClock, sql: TestSql): Promise<void> {
    switch (s.kind) {
      case 'event': {
        const id = this.live(s.profile);
        const at = new Date(clock.now().getTime() - s.minutesAgo * MINUTE);
        // Held as if an evaluator had claimed it: otherwise the app's sweep may evaluate the profile
        // between checkpoints, after a redefinition the one-by-one side only sees for changed profiles.
        await this.f.event(id, s.name, at, { total: s.total }, { deferSeen: this.deferSeen, heldForMs: HELD_MS });
        this.changed.add(id);
        return;
      }
      case 'trait': {
        const id = this.live(s.profile);
        await sql.rows(`UPDATE profiles SET traits = traits || jsonb_build_object('plan', $2::text) WHERE id = $1`, [
          id,
          s.plan,
        ]);
        this.changed.add(id);
        return;
      }
      case 'merge': {
        const from = this.live(s.from);
        const into = this.live(s.into);
        if (from === into) return;
        // What identity resolution does: events move, first/last seen widen (their events' included),
        // the loser points at the survivor.
        if (this.deferSeen) {
          const apply = applyPendingSeen({ workspaceId: this.f.workspaceId, profileIds: [from, into] });
          await sql.rows(apply.text, apply.values);
        }
        await sql.rows('UPDATE events SET profile_id = $2 WHERE profile_id = $1', [from, into]);
        await sql.rows(
          `UPDATE profiles p SET first_seen_at = least(p.first_seen_at, l.first_seen_at),
                                 last_seen_at = greatest(p.last_seen_at, l.last_seen_at)
           FROM profiles l WHERE p.id = $2 AND l.id = $1`,
          [from, into],
        );
        await sql.rows('UPDATE profiles SET merged_into_id = $2 WHERE id = $1', [from, into]);
        this.survivor.set(this.profiles.indexOf(from), this.profiles.indexOf(into));
        this.changed.add(from);
        this.changed.add(into);
        return;
      }
      case 'redefine':
        await this.f.redefine(this.audiences.get(AUDIENCES[s.audience]![0])!, EDITS[s.edit]!);
        return;
      case 'advance':
        return;
      case 'evaluate':
        return;
    }
  }

  /** Per audience: members and each profile's transitions, with profiles named by their index. */
  async state(sql: TestSql): Promise<Record<string, unknown>> {
    const index = (id: string) => this.profiles.indexOf(id);
    const result: Record<string, unknown> = {};
    for (const [key, audienceId] of this.audiences) {
      const transitions = await sql.rows<{ profile_id: string; kind: string; at: Date; audience_version: number }>(
        'SELECT profile_id, kind::text, at, audience_version FROM audience_transitions WHERE audience_id = $1 ORDER BY id',
        [audienceId],
      );
      const ledger: Record<number, string[]> = {};
      for (const t of transitions) {
        (ledger[index(t.profile_id)] ??= []).push(`${t.kind}@${t.at.toISOString()}v${t.audience_version}`);
      }
      result[key] = {
        members: (await this.f.members(audienceId)).map(index).sort(),
        memberCount: (await this.f.audienceRow(audienceId)).member_count,
        ledger,
      };
    }
    return result;
  }
}

describe('batched real-time evaluation', () => {
  let app: TestApp;
  let sql: TestSql;
  let clock: ManualClock;
  let membership: MembershipService;
  let batches: BatchEvaluatorService;

  beforeAll(async () => {
    clock = new ManualClock(START);
    // The app's workers run, and its sweep looks for pending changes ten times a second: the
    // batched side's outbox rows are held (see Side.apply), so only the checkpoints evaluate.
    app = await startTestApp({ EVALUATION_SWEEP_INTERVAL_MS: '100' }, { clock });
    sql = await TestSql.connect(app);
    membership = app.personae.app.get(MembershipService);
    batches = app.personae.app.get(BatchEvaluatorService);
  });

  afterAll(async () => {
    await sql.close();
    await app.close();
  });

  async function side(deferSeen: boolean): Promise<Side> {
    const ws = await createWorkspace(app);
    const f = new MembershipFixtures(sql, ws.workspaceId, ws.sourceId);
    const audiences = new Map<string, string>();
    for (const [key, definition] of AUDIENCES) audiences.set(key, await f.audience(key, definition));
    const profiles: string[] = [];
    for (let i = 0; i < PROFILES; i += 1) {
      profiles.push(await f.profile({ traits: { plan: i % 2 ? 'Pro' : 'Free' }, seenAt: START }));
    }
    return new Side(f, profiles, audiences, deferSeen);
  }

  it('gives the same memberships and ledgers as evaluating profiles one by one', async () => {
    let checkpoints = 0;
    let transitions = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 30 }), async (steps) => {
        clock.set(START);
        const one = await side(false);
        const batched = await side(true);
        for (const s of [...steps, { kind: 'evaluate' as const }]) {
          if (s.kind === 'advance') clock.advance(s.hours * 60 * MINUTE);
          await one.apply(s, clock, sql);
          await batched.apply(s, clock, sql);
          if (s.kind !== 'evaluate' || one.changed.size === 0) continue;
          // One by one through the per-audience statements (applyDiff), independent of the batch statement.
          for (const id of one.changed) await membership.evaluateAudienceByAudience(one.f.workspaceId, [id]);
          await batches.evaluate({
            workspaceId: batched.f.workspaceId,
            profileIds: [...batched.changed],
            now: clock.now(),
          });
          one.changed.clear();
          batched.changed.clear();
          checkpoints += 1;
        }
        const expected = await one.state(sql);
        expect(await batched.state(sql)).toEqual(expected);
        for (const audienceId of batched.audiences.values()) expect(await ledgerProblems(sql, audienceId)).toEqual([]);
        transitions += Object.values(expected).reduce<number>(
          (n, a) => n + Object.values((a as { ledger: Record<number, string[]> }).ledger).flat().length,
          0,
        );
      }),
      {
        numRuns: RUNS,
        seed: process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED),
        path: process.env.FC_PATH,
      },
    );
    // The comparison means something only if the streams moved people in and out.
    expect(checkpoints).toBeGreaterThan(RUNS);
    expect(transitions).toBeGreaterThan(RUNS * 3);
  }, 600_000);

  it('decides a chain of `in audience` three deep in one batch, and undoes it in the next', async () => {
    const ws = await createWorkspace(app);
    const f = new MembershipFixtures(sql, ws.workspaceId, ws.sourceId);
    const buyer = await f.profile({ traits: { plan: 'Pro' }, seenAt: clock.now() });
    const other = await f.profile({ traits: { plan: 'Free' }, seenAt: clock.now() });
    const buyers = await f.audience('buyers', 'performed "Order Completed"');
    const pro = await f.audience('pro-buyers', 'in audience "buyers" and trait plan = "Pro"');
    const notPro = await f.audience('not-pro-buyers', 'not in audience "pro-buyers" and in audience "buyers"');
    const top = await f.audience('top', 'in audience "pro-buyers" or in audience "not-pro-buyers"');
    await f.event(buyer, 'Order Completed', clock.now());
    await f.event(other, 'Order Completed', clock.now());
    await batches.evaluate({ workspaceId: ws.workspaceId, profileIds: [buyer, other], now: clock.now() });
    expect(await f.members(buyers)).toEqual([buyer, other].sort());
    expect(await f.members(pro)).toEqual([buyer]);
    expect(await f.members(notPro)).toEqual([other]);
    expect(await f.members(top)).toEqual([buyer, other].sort());

    // The buyer turns Free: pro-buyers, then not-pro-buyers, change within the same batch; top stays.
    await sql.rows(`UPDATE profiles SET traits = '{"plan": "Free"}' WHERE id = $1`, [buyer]);
    await batches.evaluate({ workspaceId: ws.workspaceId, profileIds: [buyer], now: clock.now() });
    expect(await f.members(pro)).toEqual([]);
    expect(await f.members(notPro)).toEqual([buyer, other].sort());
    expect(await f.members(top)).toEqual([buyer, other].sort());
    for (const audienceId of [buyers, pro, notPro, top]) expect(await ledgerProblems(sql, audienceId)).toEqual([]);
    const topLedger = await sql.rows<{ kind: string }>(
      'SELECT kind::text FROM audience_transitions WHERE audience_id = $1 AND profile_id = $2',
      [top, buyer],
    );
    expect(topLedger.map((t) => t.kind)).toEqual(['entered']);
  });

  it('evaluates the other audiences of a batch when one of them fails, and reports the failure', async () => {
    const ws = await createWorkspace(app);
    const f = new MembershipFixtures(sql, ws.workspaceId, ws.sourceId);
    const profiles = [await f.profile({ traits: { plan: 'Pro' } }), await f.profile({ traits: { plan: 'Pro' } })];
    const broken = await f.audience('broken', 'trait plan = "Pro"');
    const fine = await f.audience('fine', 'trait plan = "Pro"');
    // A statement of one audience fails (as a timeout or a bad plan would), taking its transaction with it.
    await sql.rows(`CREATE FUNCTION refuse_broken() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.audience_id = '${broken}' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$`);
    await sql.rows(
      `CREATE TRIGGER refuse_broken BEFORE INSERT ON audience_members FOR EACH ROW EXECUTE FUNCTION refuse_broken()`,
    );
    try {
      await expect(
        batches.evaluate({ workspaceId: ws.workspaceId, profileIds: profiles, now: clock.now() }),
      ).rejects.toThrow(/failed in audiences[\s\S]*refused/);
    } finally {
      await sql.rows('DROP TRIGGER refuse_broken ON audience_members');
      await sql.rows('DROP FUNCTION refuse_broken()');
    }
    expect(await f.members(fine)).toEqual([...profiles].sort());
    expect(await f.members(broken)).toEqual([]);
    expect(await ledgerProblems(sql, fine)).toEqual([]);
  });
});
