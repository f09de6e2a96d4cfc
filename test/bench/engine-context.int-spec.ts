import { engineContext } from '../../bench/membership/engine-context';
import { ManualClock } from '../../src/common/clock';
import { loadConfig } from '../../src/config/app-config';
import { MembershipService } from '../../src/membership/membership.service';
import { testEnvironment } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/database';

/** bench:membership builds the engine without the app: its module must still resolve. */
describe('the membership benchmark engine context', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(() => database.drop());

  it('starts with everything MembershipService needs, and closes', async () => {
    const config = loadConfig({ ...testEnvironment(database), ROLE: 'worker' });
    const context = await engineContext(config, new ManualClock(new Date('2026-01-01T00:00:00Z')));
    try {
      expect(context.get(MembershipService)).toBeInstanceOf(MembershipService);
    } finally {
      await context.close();
    }
  });
});
