import fc from 'fast-check';

import { Identifier } from './identifiers';
import {
  KnownIdentity,
  KnownProfile,
  PlannedMessage,
  planResolution,
  profilesNeedingDetails,
} from './identity-planner';
import { DEFAULT_IDENTITY_SETTINGS } from './identity-settings';

const at = new Date('2024-01-01T00:00:00Z');
const message = (...identifiers: Identifier[]): PlannedMessage => ({ identity: { identifiers }, timestamp: at });
const user = (value: string): Identifier => ({ type: 'user_id', value });
const anon = (value: string): Identifier => ({ type: 'anonymous_id', value });
const email = (value: string): Identifier => ({ type: 'email', value });

function existing(id: string, createdAt: string, owns: Identifier[], extra: Partial<KnownProfile> = {}) {
  const profile: KnownProfile = {
    id,
    createdAt: new Date(createdAt),
    lastSeenAt: new Date(createdAt),
    mergeCount: 0,
    limited: owns.filter((i) => i.type === 'user_id'),
    ...extra,
  };
  const identities: KnownIdentity[] = owns.map((i) => ({ ...i, profileId: id }));
  return { profile, identities };
}

function counter(): () => string {
  let n = 0;
  return () => `new-${(n += 1)}`;
}

describe('planResolution', () => {
  it('creates one profile for messages of one new person, however they are split', () => {
    const plan = planResolution(
      [message(anon('a')), message(anon('a'), user('u')), message(user('u'))],
      [],
      [],
      DEFAULT_IDENTITY_SETTINGS,
      counter(),
    );
    expect(plan.profileIds).toEqual(['new-1', 'new-1', 'new-1']);
    expect([...plan.newProfileIds]).toEqual(['new-1']);
    expect(plan.newIdentities).toEqual([
      { type: 'anonymous_id', value: 'a', profileId: 'new-1' },
      { type: 'user_id', value: 'u', profileId: 'new-1' },
    ]);
    expect(plan.guardedProfileIds.size).toBe(0);
  });

  it('folds batch-born profiles into an existing one without a database merge', () => {
    const p = existing('p', '2023-01-01', [user('u')]);
    const plan = planResolution(
      [message(anon('x')), message(anon('x'), user('u'))],
      p.identities,
      [p.profile],
      DEFAULT_IDENTITY_SETTINGS,
      counter(),
    );
    expect(plan.profileIds).toEqual(['p', 'p']);
    expect(plan.newProfileIds.size).toBe(0);
    expect(plan.merges).toEqual([]);
    expect(plan.newIdentities).toEqual([{ type: 'anonymous_id', value: 'x', profileId: 'p' }]);
  });

  it('merges existing profiles into the oldest and guards them', () => {
    const old = existing('old', '2023-01-01', [anon('a')]);
    const young = existing('young', '2023-06-01', [user('u')]);
    const plan = planResolution(
      [message(user('u')), message(user('u'), anon('a'))],
      [...old.identities, ...young.identities],
      [young.profile, old.profile],
      DEFAULT_IDENTITY_SETTINGS,
    );
    expect(plan.profileIds).toEqual(['old', 'old']);
    expect(plan.merges).toEqual([{ survivorId: 'old', loserIds: ['young'], identifiers: [user('u'), anon('a')] }]);
    expect([...plan.guardedProfileIds].sort()).toEqual(['old', 'young']);
  });

  it('refuses a merge past a limit and attaches to the owner of the user_id', () => {
    const one = existing('one', '2023-01-01', [user('u1'), anon('a1')]);
    const two = existing('two', '2023-02-01', [user('u2')]);
    const plan = planResolution(
      [message(user('u2'), anon('a1'))],
      [...one.identities, ...two.identities],
      [one.profile, two.profile],
      DEFAULT_IDENTITY_SETTINGS,
    );
    expect(plan.profileIds).toEqual(['two']);
    expect(plan.merges).toEqual([]);
    expect(plan.refusedMerges).toBe(1);
  });

  it('respects the merge cap', () => {
    const settings = { ...DEFAULT_IDENTITY_SETTINGS, maxMergesPerProfile: 2 };
    const hub = existing('hub', '2023-01-01', [email('h')], { mergeCount: 2 });
    const spoke = existing('spoke', '2023-02-01', [anon('s')]);
    const plan = planResolution(
      [message(anon('s'), email('h'))],
      [...hub.identities, ...spoke.identities],
      [hub.profile, spoke.profile],
      settings,
    );
    expect(plan.merges).toEqual([]);
    expect(plan.refusedMerges).toBe(1);
  });

  it('resolves an alias previousId to a known user_id, else an anonymous_id', () => {
    const known = existing('k', '2023-01-01', [user('old-user')]);
    const settings = { ...DEFAULT_IDENTITY_SETTINGS, limits: { user_id: 2 } };
    const plan = planResolution(
      [{ identity: { identifiers: [user('new-user')], previousId: 'old-user' }, timestamp: at }],
      known.identities,
      [known.profile],
      settings,
    );
    expect(plan.profileIds).toEqual(['k']);
    const fresh = planResolution(
      [{ identity: { identifiers: [user('u')], previousId: 'device' }, timestamp: at }],
      [],
      [],
      settings,
      counter(),
    );
    expect(fresh.newIdentities.map((i) => i.type)).toEqual(['user_id', 'anonymous_id']);
  });
});

describe('profilesNeedingDetails', () => {
  const p = existing('p', '2023-01-01', [user('u'), anon('a')]);
  const q = existing('q', '2023-02-01', [anon('b')]);
  const identities = [...p.identities, ...q.identities];

  it('needs none for messages whose identifiers all belong to one profile', () => {
    expect(profilesNeedingDetails([message(user('u'), anon('a')), message(anon('b'))], identities)).toEqual([]);
  });

  it('needs the owners of a message that could merge them or add an identifier', () => {
    expect(profilesNeedingDetails([message(user('u'), anon('b'))], identities).sort()).toEqual(['p', 'q']);
    expect(profilesNeedingDetails([message(anon('b'), user('new'))], identities)).toEqual(['q']);
    const alias = { identity: { identifiers: [anon('b')], previousId: 'u' }, timestamp: at };
    expect(profilesNeedingDetails([alias], identities).sort()).toEqual(['p', 'q']);
  });

  it('refuses to plan a merge with a profile whose details were not read', () => {
    expect(() =>
      planResolution([message(user('u'), anon('b'))], identities, [p.profile], DEFAULT_IDENTITY_SETTINGS, counter()),
    ).toThrow('the details of profile q were not read');
  });

  it('plans exactly as with every profile read (randomized)', () => {
    const values = ['1', '2', '3', '4'];
    const identifierArb = fc.record({
      type: fc.constantFrom('user_id', 'anonymous_id', 'email'),
      value: fc.constantFrom(...values),
    });
    const profileArb = fc.record({
      createdAt: fc.integer({ min: 0, max: 1_000 }),
      lastSeenAt: fc.integer({ min: 0, max: 1_000 }),
      mergeCount: fc.integer({ min: 0, max: 3 }),
      owns: fc.uniqueArray(identifierArb, { minLength: 1, maxLength: 3, selector: (i) => `${i.type}:${i.value}` }),
    });
    const messageArb = fc.record({
      identifiers: fc.uniqueArray(identifierArb, {
        minLength: 1,
        maxLength: 3,
        selector: (i) => `${i.type}:${i.value}`,
      }),
      previousId: fc.option(fc.constantFrom(...values), { nil: undefined }),
      time: fc.integer({ min: 0, max: 2_000 }),
    });
    const settingsArb = fc.record({
      userLimit: fc.integer({ min: 1, max: 2 }),
      maxMerges: fc.integer({ min: 0, max: 4 }),
    });
    fc.assert(
      fc.property(
        fc.array(profileArb, { maxLength: 4 }),
        fc.array(messageArb, { minLength: 1, maxLength: 8 }),
        settingsArb,
        (raw, rawMessages, s) => {
          const owned = new Set<string>();
          const known: KnownIdentity[] = [];
          const profiles: KnownProfile[] = raw.map((r, index) => {
            const id = `p${index}`;
            const owns = r.owns.filter((i) => !owned.has(`${i.type}:${i.value}`));
            for (const i of owns) {
              owned.add(`${i.type}:${i.value}`);
              known.push({ ...i, profileId: id });
            }
            return {
              id,
              createdAt: new Date(r.createdAt),
              lastSeenAt: new Date(r.lastSeenAt),
              mergeCount: r.mergeCount,
              limited: owns.filter((i) => i.type === 'user_id'),
            };
          });
          const settings = {
            ...DEFAULT_IDENTITY_SETTINGS,
            limits: { user_id: s.userLimit },
            maxMergesPerProfile: s.maxMerges,
          };
          const messages: PlannedMessage[] = rawMessages.map((m) => ({
            identity:
              m.previousId === undefined
                ? { identifiers: m.identifiers }
                : { identifiers: m.identifiers, previousId: m.previousId },
            timestamp: new Date(m.time),
          }));
          const live = profiles.filter((profile) => known.some((i) => i.profileId === profile.id));
          const needed = new Set(profilesNeedingDetails(messages, known));
          const full = planResolution(messages, known, live, settings, counter());
          const lazy = planResolution(
            messages,
            known,
            live.filter((profile) => needed.has(profile.id)),
            settings,
            counter(),
          );
          expect(lazy).toEqual(full);
        },
      ),
      { numRuns: 500 },
    );
  });
});
