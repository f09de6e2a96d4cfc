/**
 * The SQL the compiler emits for one example of each kind of condition, committed under
 * __snapshots__ so that a change to generated SQL shows up in review. After an intended change,
 * update with `npx jest src/audiences/language/compiler/compiled-sql.snapshot.spec.ts -u`.
 */
import { parseAudience } from '../audience-parser';
import { compileAudiencePredicate } from './audience-compiler';

const ctx = {
  workspaceId: '7d4a3f8e-1c2b-4e5f-9a6b-0c1d2e3f4a5b',
  now: new Date('2026-11-22T12:00:00.000Z'),
};

const EXAMPLES = [
  'never performed "Tutorial Viewed" and inactive 30 days',
  'performed "Order Completed" at least 3 times within 90 days where total > 100',
  'performed "Order Completed" at most 2 times between 2026-01-01 and 2026-02-01',
  'performed "Signed Up" where (plan = "Pro Annual" and coupon exists and referrer starts with "https://")',
  'active within 7 days or last seen before 30 days ago',
  'first seen between 2026-01-01 and 2026-02-01T00:00:00+01:00',
  'first performed "Order Completed" within 7 days and last performed "Login" before 14 days ago',
  'trait plan in ["Pro", "Team", 3, true, 2026-01-01] and trait "Lifetime Value" >= 100',
  'trait trial_ends_at within 2 weeks and not trait email contains "@example.com"',
  'performed "Product Added" then not performed "Order Completed" within 1 hour',
  'performed "Product Added" then not performed "Order Completed"',
  'performed "Signed Up" then performed "Project Created" then performed "Invite Sent"',
  'performed "Signed Up" then performed "Project Created" then not performed "Invite Sent" within 7 days',
  'performed "Viewed Pricing" then performed "Started Trial" where plan != "Free" then performed "Upgraded" within 30 days',
  'performed "Signed Up" where plan = "Pro" or trait beta = true or performed "Signed Up" where plan = "Team"',
  'in audience "trial-users" and not (trait beta = true or trait "signup date" < 2026-01-01)',
  'computed logins_7d >= 3 and computed "top category" in ["shoes", "hats"]',
];

describe('compiled SQL', () => {
  it.each(EXAMPLES)('%s', (text) => {
    const sql = compileAudiencePredicate(parseAudience(text), ctx);
    expect({ sql: sql.sql, values: sql.values }).toMatchSnapshot();
  });

  it.each(['active within 7 days or inactive 30 days', 'inactive 30 days and performed "Login"'])(
    'batch form: %s',
    (text) => {
      const sql = compileAudiencePredicate(parseAudience(text), { ...ctx, batch: true });
      // Sets read once from the batch's events, never a probe per profile (no p.id inside them).
      expect(sql.sql).not.toMatch(/e\.profile_id = p\.id|THEN p\.id END/);
      expect({ sql: sql.sql, values: sql.values }).toMatchSnapshot();
    },
  );

  it('restricts events, not traits, when historical data is excluded', () => {
    const sql = compileAudiencePredicate(parseAudience('performed "Order Completed" and trait plan = "Pro"'), {
      ...ctx,
      eventsSince: new Date('2026-11-01T00:00:00.000Z'),
    });
    expect({ sql: sql.sql, values: sql.values }).toMatchSnapshot();
  });
});
