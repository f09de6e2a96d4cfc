/**
 * The SQL the trait compiler emits for one example of each kind of trait, committed under
 * __snapshots__ so that a change to generated SQL shows up in review. After an intended change:
 * `npx jest src/traits/language/compiler/trait-sql.snapshot.spec.ts -u`.
 */
import { Prisma } from '../../../generated/prisma/client';
import { parseTrait } from '../trait-parser';
import { compileTrait, traitTargetQuery } from './trait-compiler';

const ctx = { workspaceId: '7d4a3f8e-1c2b-4e5f-9a6b-0c1d2e3f4a5b', now: new Date('2026-11-26T12:00:00.000Z') };

const EXAMPLES = [
  'count "Login" within 7 days',
  'count "Order Completed" where total > 100',
  'sum "Order Completed".revenue within 90 days',
  'max "Order Completed".revenue between 2026-01-01 and 2026-02-01',
  'first "Signed Up".plan',
  'last "Plan Selected".plan',
  'most frequent "Page Viewed".category within 30 days',
  'distinct "Feature Used".feature within 30 days',
  'count distinct "Feature Used".feature',
  'days since last "Login" where (source = "web" and beta exists)',
  'days since first seen',
  'weeks with "Login" in last 8 weeks',
];

describe('compiled trait SQL', () => {
  it.each(EXAMPLES)('%s', (text) => {
    const query = traitTargetQuery(
      compileTrait(parseTrait(text), ctx),
      Prisma.sql`p.workspace_id = ${ctx.workspaceId}::uuid`,
    );
    expect({ sql: query.sql, values: query.values }).toMatchSnapshot();
  });
});
