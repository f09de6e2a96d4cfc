import { Client } from 'pg';

import { audienceCases, AudienceServices, DAY, HOUR, MINUTE, Person, track, userIdsOf } from './audience-support';

/** Sequences (with drop-off), membership of another audience, and/or/not with precedence. */

const people: Person[] = [
  // Converted half an hour after adding.
  { id: 's1', messages: [track('Product Added', 3 * HOUR), track('Order Completed', 2.5 * HOUR)] },
  // Added, never ordered, window closed: dropped off.
  { id: 's2', messages: [track('Product Added', 3 * HOUR)] },
  // Added half an hour ago: still inside the 1 hour window, not dropped off yet.
  { id: 's3', messages: [track('Product Added', 30 * MINUTE)] },
  // Ordered three hours after adding: converted, but not within 1 hour.
  { id: 's4', messages: [track('Product Added', 5 * HOUR), track('Order Completed', 2 * HOUR)] },
  // Ordered before adding: wrong order.
  { id: 's5', messages: [track('Order Completed', 4 * HOUR), track('Product Added', 3 * HOUR)] },
  // Three-step journey; ordered exactly 1 hour after adding (the window is inclusive).
  {
    id: 's6',
    messages: [
      track('Viewed Pricing', 2 * DAY),
      track('Started Trial', 1 * DAY, { plan: 'Pro' }),
      track('Product Added', 12 * HOUR),
      track('Order Completed', 11 * HOUR),
    ],
  },
  // Same timestamp: not in order.
  { id: 's7', messages: [track('Product Added', 3 * HOUR), track('Order Completed', 3 * HOUR)] },
];

describe('sequences, membership and boolean logic', () => {
  let harness: AudienceServices;
  beforeAll(async () => {
    harness = await AudienceServices.start();
  });
  afterAll(() => harness.close());
  const h = () => harness;

  describe('sequences', () => {
    audienceCases(h, people, [
      {
        name: 'then, without a window',
        definition: 'performed "Product Added" then performed "Order Completed"',
        expected: ['s1', 's4', 's6'],
      },
      {
        name: 'then, within a conversion window (inclusive)',
        definition: 'performed "Product Added" then performed "Order Completed" within 1 hour',
        expected: ['s1', 's6'],
      },
      {
        name: 'drop-off within a window',
        definition: 'performed "Product Added" then not performed "Order Completed" within 1 hour',
        expected: ['s2', 's4', 's5', 's7'],
      },
      {
        name: 'drop-off without a window',
        definition: 'performed "Product Added" then not performed "Order Completed"',
        expected: ['s2', 's3', 's5', 's7'],
      },
      {
        name: 'three steps with a step filter',
        definition:
          'performed "Viewed Pricing" then performed "Started Trial" where plan = "Pro" then performed "Order Completed" within 3 days',
        expected: ['s6'],
      },
      {
        name: 'a step filter that matches nobody',
        definition: 'performed "Viewed Pricing" then performed "Started Trial" where plan = "Free"',
        expected: [],
      },
      {
        name: 'without historical data',
        definition: 'performed "Product Added" then performed "Order Completed"',
        includeHistoricalData: false,
        expected: [],
      },
    ]);
  });

  describe('and / or / not', () => {
    audienceCases(h, people, [
      {
        name: 'or',
        definition: 'performed "Product Added" within 1 hour or performed "Viewed Pricing"',
        expected: ['s3', 's6'],
      },
      {
        name: 'and binds tighter than or',
        definition: 'performed "Order Completed" and not performed "Viewed Pricing" or performed "Started Trial"',
        expected: ['s1', 's4', 's5', 's6', 's7'],
      },
      {
        name: 'parentheses',
        definition: 'performed "Order Completed" and not (performed "Viewed Pricing" or performed "Started Trial")',
        expected: ['s1', 's4', 's5', 's7'],
      },
      { name: 'not not', definition: 'not not performed "Viewed Pricing"', expected: ['s6'] },
      {
        name: 'the same as JSON',
        definition: {
          type: 'and',
          conditions: [
            { type: 'performed', event: 'Order Completed' },
            { type: 'not', condition: { type: 'performed', event: 'Viewed Pricing' } },
          ],
        },
        expected: ['s1', 's4', 's5', 's7'],
      },
    ]);
  });

  describe('membership of another audience', () => {
    it('reads the current members of the referenced audience', async () => {
      const workspace = await harness.workspaceWith(people);
      const created = await harness.audiences.create(workspace.workspaceId, {
        key: 'trial-users',
        name: 'Trial users',
        definition: 'performed "Started Trial"',
      });
      // The membership engine is not running here: members are written as it would write them,
      // deliberately not the people the definition selects, to show that membership is read as stored.
      const sql = new Client({ connectionString: harness.module.database.url });
      await sql.connect();
      try {
        await sql.query(
          `INSERT INTO audience_members (audience_id, profile_id, entered_at)
           SELECT $1, i.profile_id, now() FROM identities i
           WHERE i.workspace_id = $2 AND i.type = 'user_id' AND i.value = ANY($3)`,
          [created.id, workspace.workspaceId, ['s1', 's6']],
        );
      } finally {
        await sql.end();
      }
      const cases: [string, string[]][] = [
        ['in audience "trial-users"', ['s1', 's6']],
        ['not in audience "trial-users"', ['s2', 's3', 's4', 's5', 's7']],
        ['in audience "trial-users" and performed "Viewed Pricing"', ['s6']],
        ['in audience "trial-users" or performed "Product Added" within 1 hour', ['s1', 's3', 's6']],
      ];
      for (const [definition, expected] of cases) {
        const preview = await harness.preview(workspace, definition);
        expect({ definition, count: preview.count, members: userIdsOf(preview).sort() }).toEqual({
          definition,
          count: expected.length,
          members: expected,
        });
      }
    });
  });
});
