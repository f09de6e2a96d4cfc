import { Prisma } from '../generated/prisma/client';
import { batchDiffStatement } from './batch-diff-statement';

const workspaceId = '22222222-2222-4222-8222-222222222222';
const profileIds = ['33333333-3333-4333-8333-333333333333', '44444444-4444-4444-8444-444444444444'];
const audiences = [
  {
    audienceId: '11111111-1111-4111-8111-111111111111',
    version: 3,
    predicate: Prisma.sql`p.traits->>'plan' = ${'Pro'}`,
  },
  {
    audienceId: '55555555-5555-4555-8555-555555555555',
    version: 7,
    predicate: Prisma.sql`p.traits->>'plan' = ${'Free'}`,
  },
];

describe('batchDiffStatement', () => {
  const statement = batchDiffStatement({
    workspaceId,
    now: new Date('2026-06-01T00:00:00.000Z'),
    profileIds,
    audiences,
  });

  it('binds every value and splices none', () => {
    for (const value of [workspaceId, ...profileIds, ...audiences.map((a) => a.audienceId), 'Pro', 'Free']) {
      expect(statement.text).not.toContain(value);
    }
    expect(statement.values).toEqual(
      expect.arrayContaining([workspaceId, profileIds, 'Pro', 'Free', [3, 7], audiences.map((a) => a.audienceId)]),
    );
  });

  it('evaluates every audience of the statement over one read of the batch, its events and its memberships', () => {
    const text = statement.text;
    // One target query per audience, all over the batch's profiles.
    expect(text.match(/FROM batch p WHERE/g)).toHaveLength(audiences.length);
    // Profiles, events and memberships are each read once, by a probe per profile.
    expect(text.match(/FROM profiles p/g)).toHaveLength(1);
    expect(text.match(/FROM events e/g)).toHaveLength(1);
    expect(text).toContain('e.workspace_id = $');
    expect(text).toMatch(/e\.profile_id = b\.id\s+OFFSET 0/);
    expect(text).toMatch(/m\.profile_id = ids\.id AND \(m\.audience_id = ANY\(\$\d+::uuid\[\]\)\) IS TRUE\s+OFFSET 0/);
    // `events` is shadowed by the batch's events: the name is a CTE of the statement.
    expect(text).toMatch(/events AS MATERIALIZED \(/);
    expect(text).toMatchSnapshot();
  });
});
