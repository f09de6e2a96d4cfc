import type { DatabaseConfig } from '../config/app-config';
import type { InteractiveDatabase } from '../database/interactive-database';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import type { PrismaService } from '../prisma/prisma.service';
import { MembershipRepository } from './membership.repository';

/** A transaction stand-in that records the statement instead of running it. */
function recordingTx(): { tx: Tx; statements: Prisma.Sql[] } {
  const statements: Prisma.Sql[] = [];
  const capture = (strings: TemplateStringsArray, ...values: unknown[]) => {
    statements.push(Prisma.sql(strings, ...values));
    return Promise.resolve([{ entered: 0, exited: 0, id: null, destinationId: null }]);
  };
  return { tx: { $queryRaw: capture } as unknown as Tx, statements };
}

const repository = new MembershipRepository({} as PrismaService, {} as InteractiveDatabase, {} as DatabaseConfig);
const base = {
  audienceId: '11111111-1111-4111-8111-111111111111',
  workspaceId: '22222222-2222-4222-8222-222222222222',
  version: 3,
  now: new Date('2026-06-01T00:00:00.000Z'),
  predicate: Prisma.sql`p.traits->>'plan' = ${'Pro'}`,
};

describe('MembershipRepository.applyDiff', () => {
  it('is one statement with every value bound (full computation)', async () => {
    const { tx, statements } = recordingTx();
    await repository.applyDiff(tx, base);
    expect(statements).toHaveLength(1);
    const [statement] = statements;
    expect(statement!.text).not.toContain(base.audienceId);
    expect(statement!.text).not.toContain('Pro');
    expect(statement!.values).toEqual(expect.arrayContaining([base.audienceId, base.workspaceId, 'Pro', 3]));
    expect(statement!.text).toMatchSnapshot();
  });

  it('restricts target and members to the given profiles and adjusts member_count (evaluation)', async () => {
    const { tx, statements } = recordingTx();
    await repository.applyDiff(tx, { ...base, profileIds: ['33333333-3333-4333-8333-333333333333'] });
    const [statement] = statements;
    expect(statement!.text).toContain('p.id = ANY(');
    expect(statement!.text).toContain('FROM unnest(');
    expect(statement!.text).toContain('m.profile_id = b.id LIMIT 1');
    expect(statement!.text).toContain('member_count = greatest(0, member_count');
    expect(statement!.text).toMatchSnapshot();
  });

  it('diffs groups for an account audience, with one delivery per recipient of each rule (evaluation)', async () => {
    const { tx, statements } = recordingTx();
    const destinationId = '44444444-4444-4444-8444-444444444444';
    await repository.applyDiff(tx, {
      ...base,
      level: 'account',
      predicate: Prisma.sql`g.traits->>'plan' = ${'Business'}`,
      profileIds: ['55555555-5555-4555-8555-555555555555'],
      recipients: [{ destinationId, predicate: Prisma.sql`p.traits->>'role' = ${'owner'}` }],
    });
    const [statement] = statements;
    expect(statement!.text).toContain('SELECT g.id FROM groups g WHERE g.id = ANY(');
    expect(statement!.text).toContain('JOIN group_memberships gm ON gm.group_id = t.profile_id');
    expect(statement!.text).not.toContain('owner');
    expect(statement!.values).toEqual(expect.arrayContaining([destinationId, 'owner', 'Business']));
    expect(statement!.text).toMatchSnapshot();
  });
});
