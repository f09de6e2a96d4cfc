/**
 * The SQL the account compiler emits for one example of each account condition, committed under
 * __snapshots__ so that a change to generated SQL shows up in review. After an intended change,
 * update with `npx jest src/audiences/language/compiler/account-sql.snapshot.spec.ts -u`.
 */
import { parseAudience } from '../audience-parser';
import { compileAccountPredicate } from './account-conditions';

const ctx = {
  workspaceId: '7d4a3f8e-1c2b-4e5f-9a6b-0c1d2e3f4a5b',
  now: new Date('2026-11-22T12:00:00.000Z'),
};

const EXAMPLES = [
  'trait plan = "Business"',
  'no member active within 14 days',
  'any member performed "Source Connected" within 7 days',
  'all members trait role = "owner"',
  'members at least 2',
  'created within 7 days and members at most 1',
  'not in audience "red-accounts" or no member performed "Login" where platform = "web"',
];

describe('compiled account SQL', () => {
  it.each(EXAMPLES)('%s', (text) => {
    const sql = compileAccountPredicate(parseAudience(text, 'account'), ctx);
    expect({ sql: sql.sql, values: sql.values }).toMatchSnapshot();
  });

  it('binds every value and splices none', () => {
    const evil = "'; DROP TABLE groups; --";
    const sql = compileAccountPredicate(
      parseAudience(
        `trait "${evil}" = "${evil}" and any member performed "${evil}" and in audience "${evil}"`,
        'account',
      ),
      ctx,
    );
    expect(sql.sql).not.toContain('DROP');
    expect(sql.values).toContain(evil);
  });
});
