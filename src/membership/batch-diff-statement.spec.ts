import { Prisma } from '../generated/prisma/client';
import { batchDiffStatement } from './batch-diff-statement';

const workspaceId = '22222222-2222-4222-8222-222222222222';
const profileIds = ['33333333-3333-4333-8333-333333333333', '44444444-4444-4444-8444-444444444444'];
const audiences = [
  {
    audienceId: '11111111-1111-4111-8111-111111111111',
    version: 3,
    stage: 0,
    predicate: Prisma.sql`p.traits->>'plan' = ${'Pro'}`,
  },
  {
    audienceId: '55555555-5555-4555-8555-555555555555',
    version: 7,
    stage: 0,
    predicate: Prisma.sql`p.traits->>'plan' = ${'Free'}`,
  },
  {
    audienceId: '66666666-6666-4666-8666-666666666666',
    version: 1,
    stage: 1,
    predicate: Prisma.sql`(p.id IN (SELECT t.profile_id FROM target_0 t WHERE t.audience_id = ${'11111111-1111-4111-8111-111111111111'}::uuid)) IS TRUE`,
  },
];
const now = new Date('2026-06-01T00:00:00.000Z');

describe('batchDiffStatement', () => {
  const statement = batchDiffStatement({ workspaceId, now, profileIds, audiences });

  it('binds every value and splices none', () => {
    for (const value of [workspaceId, ...profileIds, ...audiences.map((a) => a.audienceId), 'Pro', 'Free']) {
      expect(statement.text).not.toContain(value);
    }
    expect(statement.values).toEqual(
      expect.arrayContaining([workspaceId, profileIds, 'Pro', 'Free', [3, 7, 1], audiences.map((a) => a.audienceId)]),
    );
  });

  it('evaluates every audience over one read of the batch, its events and its memberships', () => {
    const text = statement.text;
    // One target query per audience, all over the batch's profiles, in one relation per stage.
    expect(text.match(/FROM batch p WHERE/g)).toHaveLength(audiences.length);
    expect(text).toContain('target_0 AS MATERIALIZED (');
    expect(text).toContain('target_1 AS MATERIALIZED (');
    expect(text).toContain(
      'SELECT audience_id, profile_id FROM target_0 UNION ALL SELECT audience_id, profile_id FROM target_1',
    );
    // Profiles, events and memberships are each read once, by a probe per profile.
    expect(text.match(/FROM profiles p/g)).toHaveLength(1);
    expect(text.match(/FROM events e/g)).toHaveLength(1);
    expect(text).toMatch(/e\.profile_id = b\.id\s+OFFSET 0/);
    expect(text).toMatch(/m\.profile_id = ids\.id AND \(m\.audience_id = ANY\(\$\d+::uuid\[\]\)\) IS TRUE\s+OFFSET 0/);
    // `events` is shadowed by the batch's events: the name is a CTE of the statement.
    expect(text).toMatch(/events AS MATERIALIZED \(/);
    expect(text).toMatchSnapshot();
  });

  it('refuses stages with a gap, which would leave a referenced target set undefined', () => {
    expect(() =>
      batchDiffStatement({
        workspaceId,
        now,
        profileIds,
        audiences: audiences.map((a) => ({ ...a, stage: a.stage * 2 })),
      }),
    ).toThrow(/stages must run 0, 1/);
  });
});
