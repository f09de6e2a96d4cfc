import { randomUUID } from 'node:crypto';

import { Client } from 'pg';

import { AUDIENCE_LOCK_CLASS } from '../../src/database/audience-lock';
import { MembershipModule } from '../../src/membership/membership.module';
import { MembershipRepository } from '../../src/membership/membership.repository';
import { startTestModule, TestModule } from '../support/modules';

/**
 * A real-time batch takes the locks of every audience of its workspace in one statement. That
 * statement failing would not show in memberships (the batch falls back to one transaction per
 * audience, with a warning), only in its speed and the log: hence this test of the locks themselves.
 */
describe('the locks of several audiences', () => {
  let module: TestModule;
  let other: Client;

  beforeAll(async () => {
    module = await startTestModule([MembershipModule]);
    other = new Client({ connectionString: module.database.url });
    await other.connect();
  });
  afterAll(async () => {
    await other?.end();
    await module?.close();
  });

  const tryLock = async (audienceId: string): Promise<boolean> => {
    const { rows } = await other.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_xact_lock($1::int, hashtext($2)) AS locked',
      [AUDIENCE_LOCK_CLASS, audienceId],
    );
    return rows[0]!.locked;
  };

  it('are all held while the work runs, in one transaction, and released after', async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const repository = module.get(MembershipRepository);
    const held = await repository.withAudienceLocks([ids[2]!, ids[0]!, ids[2]!, ids[1]!], async () => {
      await other.query('BEGIN');
      try {
        return await Promise.all(ids.map(tryLock));
      } finally {
        await other.query('ROLLBACK');
      }
    });
    expect(held).toEqual([false, false, false]);
    await other.query('BEGIN');
    try {
      expect(await Promise.all(ids.map(tryLock))).toEqual([true, true, true]);
    } finally {
      await other.query('ROLLBACK');
    }
  });
});
