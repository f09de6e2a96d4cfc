import { audienceCases, AudienceServices, DAY, identify, Message, page, Person, track } from './audience-support';

/** active / inactive (any event type), first / last seen, and profile traits with every operator. */

const screen = (name: string, ago: number): Message => ({ type: 'screen', name, ago });

const people: Person[] = [
  {
    id: 'p1',
    messages: [
      identify(1 * DAY, {
        plan: 'Pro',
        email: 'a@acme.com',
        ltv: 1500,
        'Lifetime Value': 1500,
        address: { city: 'Paris' },
        beta: true,
        trial_ends_at: '2026-07-01',
        signed_up_at: '2026-06-10',
      }),
      track('Login', 1 * DAY),
    ],
  },
  {
    id: 'p2',
    messages: [
      identify(45 * DAY, {
        plan: 'Free',
        email: 'b@gmail.com',
        ltv: '20',
        address: { city: 'Berlin' },
        beta: false,
        trial_ends_at: '2026-06-01',
        signed_up_at: '2026-01-10',
      }),
      page('Pricing', 40 * DAY),
    ],
  },
  { id: 'p3', messages: [identify(100 * DAY, { plan: null, name: 'Dr Who', ltv: 'lots' }), track('Clicked', 5 * DAY)] },
  { id: 'p4', messages: [screen('Home', 10 * DAY)] },
  { id: 'p5', messages: [identify(200 * DAY, { plan: 'pro', signed_up_at: '2025-12-01T10:00:00+05:30' })] },
];

describe('profile conditions', () => {
  let harness: AudienceServices;
  beforeAll(async () => {
    harness = await AudienceServices.start();
  });
  afterAll(() => harness.close());
  const h = () => harness;

  describe('active / inactive (events of any type)', () => {
    audienceCases(h, people, [
      { name: 'active within', definition: 'active within 7 days', expected: ['p1', 'p3'] },
      { name: 'a screen call is activity', definition: 'active within 14 days', expected: ['p1', 'p3', 'p4'] },
      { name: 'active before … ago', definition: 'active before 30 days ago', expected: ['p2', 'p3', 'p5'] },
      { name: 'active between', definition: 'active between 2026-04-01 and 2026-05-15', expected: ['p2'] },
      { name: 'inactive 30 days', definition: 'inactive 30 days', expected: ['p2', 'p5'] },
      { name: 'inactive 7 days', definition: 'inactive 7 days', expected: ['p2', 'p4', 'p5'] },
      { name: 'inactive 2 weeks', definition: 'inactive 2 weeks', expected: ['p2', 'p5'] },
      {
        name: 'inactive without historical data is everyone',
        definition: 'inactive 30 days',
        includeHistoricalData: false,
        expected: ['p1', 'p2', 'p3', 'p4', 'p5'],
      },
    ]);
  });

  describe('first / last seen', () => {
    audienceCases(h, people, [
      { name: 'first seen within', definition: 'first seen within 7 days', expected: ['p1'] },
      { name: 'first seen before … ago', definition: 'first seen before 90 days ago', expected: ['p3', 'p5'] },
      { name: 'first seen between', definition: 'first seen between 2026-04-20 and 2026-05-10', expected: ['p2'] },
      { name: 'last seen within', definition: 'last seen within 7 days', expected: ['p1', 'p3'] },
      { name: 'last seen before … ago', definition: 'last seen before 30 days ago', expected: ['p2', 'p5'] },
      {
        name: 'last seen ignores includeHistoricalData (a fact about the profile)',
        definition: 'last seen within 7 days',
        includeHistoricalData: false,
        expected: ['p1', 'p3'],
      },
    ]);
  });

  describe('traits', () => {
    audienceCases(h, people, [
      { name: 'string = (case-sensitive)', definition: 'trait plan = "Pro"', expected: ['p1'] },
      { name: '!= needs a value', definition: 'trait plan != "Pro"', expected: ['p2', 'p5'] },
      {
        name: 'not … = includes missing and null',
        definition: 'not trait plan = "Pro"',
        expected: ['p2', 'p3', 'p4', 'p5'],
      },
      { name: 'string >', definition: 'trait name > "A"', expected: ['p3'] },
      { name: 'number >', definition: 'trait ltv > 100', expected: ['p1'] },
      { name: 'number < (numeric string)', definition: 'trait ltv < 100', expected: ['p2'] },
      { name: 'number >=', definition: 'trait ltv >= 20', expected: ['p1', 'p2'] },
      { name: 'number <=', definition: 'trait ltv <= 20', expected: ['p2'] },
      { name: 'number =', definition: 'trait ltv = 20', expected: ['p2'] },
      { name: 'number !=', definition: 'trait ltv != 20', expected: ['p1'] },
      { name: 'quoted name', definition: 'trait "Lifetime Value" >= 100', expected: ['p1'] },
      {
        name: 'nested path in a list',
        definition: 'trait address.city in ["Paris", "Berlin"]',
        expected: ['p1', 'p2'],
      },
      { name: 'nested path =', definition: 'trait address.city = "Paris"', expected: ['p1'] },
      { name: 'in, several types', definition: 'trait plan in ["Pro", "pro", 3]', expected: ['p1', 'p5'] },
      { name: 'exists', definition: 'trait email exists', expected: ['p1', 'p2'] },
      { name: 'exists is false for null', definition: 'trait plan exists', expected: ['p1', 'p2', 'p5'] },
      { name: 'contains', definition: 'trait email contains "@acme.com"', expected: ['p1'] },
      { name: 'starts with', definition: 'trait name starts with "Dr"', expected: ['p3'] },
      { name: 'boolean = true', definition: 'trait beta = true', expected: ['p1'] },
      { name: 'boolean = false', definition: 'trait beta = false', expected: ['p2'] },
      { name: 'boolean !=', definition: 'trait beta != true', expected: ['p2'] },
      { name: 'date <', definition: 'trait trial_ends_at < 2026-06-15', expected: ['p2'] },
      { name: 'date >', definition: 'trait trial_ends_at > 2026-06-15', expected: ['p1'] },
      { name: 'date =', definition: 'trait trial_ends_at = 2026-07-01T00:00:00Z', expected: ['p1'] },
      { name: 'date within', definition: 'trait signed_up_at within 14 days', expected: ['p1'] },
      {
        name: 'date before … ago (with offset)',
        definition: 'trait signed_up_at before 90 days ago',
        expected: ['p2', 'p5'],
      },
      {
        name: 'traits ignore includeHistoricalData',
        definition: 'trait email exists',
        includeHistoricalData: false,
        expected: ['p1', 'p2'],
      },
    ]);
  });
});
