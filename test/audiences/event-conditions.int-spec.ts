import { audienceCases, AudienceServices, DAY, identify, page, Person, track } from './audience-support';

/** performed (counts, windows, property filters of every value type and operator), never/not performed, first/last performed. */

const people: Person[] = [
  {
    id: 'ann',
    messages: [
      track('Order Completed', 1 * DAY, { total: 50, plan: 'Pro', product: { category: 'Books' } }),
      track('Order Completed', 5 * DAY, { total: 150, plan: 'Pro Annual' }),
      track('Order Completed', 10 * DAY, { total: 250, plan: 'Pro Annual', placed_at: '2026-06-01' }),
      track('Login', 2 * DAY),
    ],
  },
  {
    id: 'bob',
    messages: [
      track('Order Completed', 100 * DAY, { total: '120', coupon: true, sku: 'sku-7' }),
      track('Tutorial Viewed', 40 * DAY),
    ],
  },
  {
    id: 'cat',
    messages: [1, 2, 3, 4, 5].map((days) =>
      track('Order Completed', days * DAY, {
        total: 200,
        currency: 'EUR',
        coupon: false,
        placed_at: '2026-06-10T08:00:00+02:00',
      }),
    ),
  },
  { id: 'dan', messages: [track('Tutorial Viewed', 1 * DAY), track('Login', 60 * DAY)] },
  {
    id: 'eve',
    messages: [
      track('Order Completed', 20 * DAY, { total: null, sku: 'SKU-123' }),
      track('Order Completed', 95 * DAY, { total: 'lots', sku: 'sku-9' }),
    ],
  },
  { id: 'fay', messages: [page('Pricing', 3 * DAY)] },
  // An order stamped in the future has not happened yet.
  { id: 'gus', messages: [identify(10 * DAY), track('Order Completed', -1 * DAY, { total: 999 })] },
];

describe('event conditions', () => {
  let harness: AudienceServices;
  beforeAll(async () => {
    harness = await AudienceServices.start();
  });
  afterAll(() => harness.close());
  const h = () => harness;

  describe('performed, with counts', () => {
    audienceCases(h, people, [
      { name: 'performed', definition: 'performed "Order Completed"', expected: ['ann', 'bob', 'cat', 'eve'] },
      {
        name: 'at least 3 times',
        definition: 'performed "Order Completed" at least 3 times',
        expected: ['ann', 'cat'],
      },
      { name: 'exactly 1 time', definition: 'performed "Order Completed" exactly 1 time', expected: ['bob'] },
      { name: 'exactly 2 times', definition: 'performed "Order Completed" exactly 2 times', expected: ['eve'] },
      {
        name: 'exactly 0 times includes people who never did it',
        definition: 'performed "Order Completed" exactly 0 times',
        expected: ['dan', 'fay', 'gus'],
      },
      {
        name: 'at most 1 time includes people who never did it',
        definition: 'performed "Order Completed" at most 1 time',
        expected: ['bob', 'dan', 'fay', 'gus'],
      },
      {
        name: 'an event name matches exactly',
        definition: 'performed "order completed"',
        expected: [],
      },
    ]);
  });

  describe('performed, with windows', () => {
    audienceCases(h, people, [
      { name: 'within', definition: 'performed "Order Completed" within 7 days', expected: ['ann', 'cat'] },
      { name: 'within in hours', definition: 'performed "Order Completed" within 36 hours', expected: ['ann', 'cat'] },
      { name: 'within in weeks', definition: 'performed "Login" within 1 week', expected: ['ann'] },
      {
        name: 'count and window',
        definition: 'performed "Order Completed" at least 3 times within 7 days',
        expected: ['cat'],
      },
      {
        name: 'before … ago',
        definition: 'performed "Order Completed" before 30 days ago',
        expected: ['bob', 'eve'],
      },
      {
        name: 'between two dates (from inclusive, to exclusive)',
        definition: 'performed "Order Completed" between 2026-05-20 and 2026-05-26T12:00:00.001Z',
        expected: ['eve'],
      },
      {
        name: 'between, the end is exclusive',
        definition: 'performed "Order Completed" between 2026-05-20 and 2026-05-26T12:00:00Z',
        expected: [],
      },
    ]);
  });

  describe('performed, with property filters', () => {
    audienceCases(h, people, [
      // Numbers: JSON numbers and numeric strings; null and "lots" fail every test.
      {
        name: 'number >',
        definition: 'performed "Order Completed" where total > 100',
        expected: ['ann', 'bob', 'cat'],
      },
      { name: 'number >=', definition: 'performed "Order Completed" where total >= 200', expected: ['ann', 'cat'] },
      { name: 'number <', definition: 'performed "Order Completed" where total < 100', expected: ['ann'] },
      { name: 'number <=', definition: 'performed "Order Completed" where total <= 50', expected: ['ann'] },
      {
        name: 'number = a numeric string',
        definition: 'performed "Order Completed" where total = 120',
        expected: ['bob'],
      },
      { name: 'number !=', definition: 'performed "Order Completed" where total != 200', expected: ['ann', 'bob'] },
      {
        name: 'number in',
        definition: 'performed "Order Completed" where total in [120, 200]',
        expected: ['bob', 'cat'],
      },
      {
        name: 'count, window and filter',
        definition: 'performed "Order Completed" at least 3 times within 90 days where total > 100',
        expected: ['cat'],
      },
      // Strings: exact, case-sensitive, code point order.
      { name: 'string =', definition: 'performed "Order Completed" where plan = "Pro"', expected: ['ann'] },
      { name: 'string !=', definition: 'performed "Order Completed" where currency != "USD"', expected: ['cat'] },
      { name: 'string <', definition: 'performed "Order Completed" where plan < "Pro B"', expected: ['ann'] },
      { name: 'string >', definition: 'performed "Order Completed" where currency > "AAA"', expected: ['cat'] },
      { name: 'contains', definition: 'performed "Order Completed" where sku contains "SKU"', expected: ['eve'] },
      {
        name: 'starts with',
        definition: 'performed "Order Completed" where sku starts with "sku"',
        expected: ['bob', 'eve'],
      },
      {
        name: 'string in',
        definition: 'performed "Order Completed" where plan in ["Pro", "Enterprise"]',
        expected: ['ann'],
      },
      {
        name: 'nested path',
        definition: 'performed "Order Completed" where product.category = "Books"',
        expected: ['ann'],
      },
      // Booleans: JSON booleans only.
      { name: 'boolean = true', definition: 'performed "Order Completed" where coupon = true', expected: ['bob'] },
      { name: 'boolean = false', definition: 'performed "Order Completed" where coupon = false', expected: ['cat'] },
      { name: 'boolean !=', definition: 'performed "Order Completed" where coupon != true', expected: ['cat'] },
      // Dates: ISO strings compared as instants, with their offsets.
      {
        name: 'date = (other offset)',
        definition: 'performed "Order Completed" where placed_at = 2026-06-10T06:00:00Z',
        expected: ['cat'],
      },
      { name: 'date <', definition: 'performed "Order Completed" where placed_at < 2026-06-05', expected: ['ann'] },
      { name: 'date >', definition: 'performed "Order Completed" where placed_at > 2026-06-05', expected: ['cat'] },
      {
        name: 'date within',
        definition: 'performed "Order Completed" where placed_at within 7 days',
        expected: ['cat'],
      },
      {
        name: 'date before … ago',
        definition: 'performed "Order Completed" where placed_at before 7 days ago',
        expected: ['ann'],
      },
      // exists: present and not null.
      {
        name: 'exists',
        definition: 'performed "Order Completed" where total exists',
        expected: ['ann', 'bob', 'cat', 'eve'],
      },
      {
        name: 'several filters on one event',
        definition: 'performed "Order Completed" where (plan = "Pro Annual" and total > 200)',
        expected: ['ann'],
      },
    ]);
  });

  describe('never / not performed', () => {
    audienceCases(h, people, [
      { name: 'never performed', definition: 'never performed "Order Completed"', expected: ['dan', 'fay', 'gus'] },
      {
        name: 'never performed within',
        definition: 'never performed "Tutorial Viewed" within 30 days',
        expected: ['ann', 'bob', 'cat', 'eve', 'fay', 'gus'],
      },
      {
        name: 'never performed with a filter',
        definition: 'never performed "Order Completed" where total > 100',
        expected: ['dan', 'eve', 'fay', 'gus'],
      },
      {
        name: 'not performed within',
        definition: 'not performed "Login" within 30 days',
        expected: ['bob', 'cat', 'dan', 'eve', 'fay', 'gus'],
      },
    ]);
  });

  describe('first / last performed', () => {
    audienceCases(h, people, [
      {
        name: 'first performed within',
        definition: 'first performed "Order Completed" within 7 days',
        expected: ['cat'],
      },
      {
        name: 'first performed before … ago',
        definition: 'first performed "Order Completed" before 30 days ago',
        expected: ['bob', 'eve'],
      },
      {
        name: 'first performed between',
        definition: 'first performed "Login" between 2026-04-01 and 2026-05-01',
        expected: ['dan'],
      },
      {
        name: 'last performed within',
        definition: 'last performed "Order Completed" within 7 days',
        expected: ['ann', 'cat'],
      },
      {
        name: 'last performed before … ago',
        definition: 'last performed "Order Completed" before 30 days ago',
        expected: ['bob'],
      },
      {
        name: 'last performed with a filter',
        definition: 'last performed "Order Completed" within 30 days where total > 200',
        expected: ['ann'],
      },
    ]);
  });

  describe('without historical data (history starts now)', () => {
    audienceCases(h, people, [
      {
        name: 'performed sees no past event',
        definition: 'performed "Order Completed"',
        includeHistoricalData: false,
        expected: [],
      },
      {
        name: 'never performed is everyone',
        definition: 'never performed "Order Completed"',
        includeHistoricalData: false,
        expected: ['ann', 'bob', 'cat', 'dan', 'eve', 'fay', 'gus'],
      },
    ]);
  });
});
