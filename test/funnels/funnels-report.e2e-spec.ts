/**
 * Funnel reports over the hand-made shop of funnel-fixture.ts, every expected number worked out
 * by hand in the comments. Current period [2026-10-01, 2026-10-08), previous [09-24, 10-01),
 * window 2 days unless said otherwise.
 */
import { ManualClock } from '../../src/common/clock';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { TestSql } from '../tracking/tracking-support';
import { ADDED, CHECKOUT, ORDER, sendBatches, SHOP_BATCHES, SHOP_STEPS, VIEWED } from './funnel-fixture';

interface StepView {
  step: number;
  event: string;
  count: number;
  conversionFromPrevious: number | null;
  conversionFromFirst: number | null;
  dropOff: number;
  medianSecondsFromPrevious: number | null;
  p90SecondsFromPrevious: number | null;
  change?: { count: number; conversionFromPrevious: number | null };
  flags: string[];
}
interface Report {
  steps: StepView[];
  complete: boolean;
  previousPeriod?: { from: string; to: string; steps: StepView[] };
  breakdown: { value: string; kind: string; steps: StepView[] }[];
  biggestDropOffs: { step: number; event: string; reason: string }[];
}

/** [count, dropOff, median, p90] per step: the numbers a person reads off the table. */
const table = (steps: StepView[]) =>
  steps.map((s) => [s.count, s.dropOff, s.medianSecondsFromPrevious, s.p90SecondsFromPrevious]);

describe('POST /api/funnels/report', () => {
  let app: TestApp;
  let ws: WorkspaceCredentials;

  beforeAll(async () => {
    app = await startTestApp({}, { clock: new ManualClock('2026-10-20T00:00:00Z') });
    ws = await createWorkspace(app);
    await sendBatches(app, ws, SHOP_BATCHES);
  });

  afterAll(async () => {
    await app?.close();
  });

  const report = async (body: Record<string, unknown>): Promise<Report> => {
    const response = await app
      .http()
      .post('/api/funnels/report')
      .set('authorization', `Bearer ${ws.apiToken}`)
      .send({ steps: SHOP_STEPS, from: '2026-10-01', to: '2026-10-08', windowDays: 2, ...body })
      .expect(200);
    return response.body as Report;
  };

  it('really merged u9 and folded u8 (the premise of counting them once)', async () => {
    const sql = await TestSql.connect(app);
    try {
      const merged = await sql.count(
        'SELECT count(*) FROM profiles WHERE workspace_id = $1 AND merged_into_id IS NOT NULL',
        [ws.workspaceId],
      );
      expect(merged).toBeGreaterThanOrEqual(1);
    } finally {
      await sql.close();
    }
  });

  it('counts sequential conversion step by step', async () => {
    const body = await report({});
    // Entered: u1..u9 (u10 viewed exactly at `to`). Added: all but u5 (same millisecond) = 8.
    // Checkout: u1, u2, u6, u8 (u4's is 49 h after entering) = 4. Order: u1, u2, u6 = 3.
    // Seconds to Added: 300 300 600 600 1800 3600 3600 172800 -> median (600+1800)/2, p90 3600+0.3*169200.
    // To checkout: 300 300 1500 1800 -> 900, 1500+0.7*300. To order: 300 600 1200 -> 600, 600+0.8*600.
    expect(table(body.steps)).toEqual([
      [9, 0, null, null],
      [8, 1, 1200, 54360],
      [4, 4, 900, 1710],
      [3, 1, 600, 1080],
    ]);
    expect(body.steps.map((s) => s.event)).toEqual([VIEWED, ADDED, CHECKOUT, ORDER]);
    expect(body.steps[1]?.conversionFromPrevious).toBeCloseTo(8 / 9, 10);
    expect(body.steps[2]?.conversionFromPrevious).toBe(0.5);
    expect(body.steps[3]?.conversionFromPrevious).toBe(0.75);
    expect(body.steps[3]?.conversionFromFirst).toBeCloseTo(3 / 9, 10);
    expect(body.steps[0]?.conversionFromPrevious).toBe(1);
    expect(body.complete).toBe(true);
  });

  it('in strict mode, any other funnel step in between stops the person', async () => {
    const body = await report({ mode: 'strict' });
    // u4 (second view), u6 (checkout before add) stop at step 1; u3 (order before checkout) at 2.
    // Added: u1 u2 u3 u7 u8 u9 = 6: 300 300 600 1800 3600 172800 -> 1200, 3600+0.5*169200.
    // Checkout: u1 u2 u8: 300 1500 1800 -> 1500, 1740. Order: u1 u2: 600 1200 -> 900, 1140.
    expect(table(body.steps)).toEqual([
      [9, 0, null, null],
      [6, 3, 1200, 88200],
      [3, 3, 1500, 1740],
      [2, 1, 900, 1140],
    ]);
  });

  it('measures the window from the step-1 event, inclusive', async () => {
    // One day: u7's add, exactly 48 h after its view, falls out; nobody else moves.
    const body = await report({ windowDays: 1 });
    expect(body.steps.map((s) => s.count)).toEqual([9, 7, 4, 3]);
    // Seven days: u4's checkout (49 h) now counts.
    const week = await report({ windowDays: 7 });
    expect(week.steps.map((s) => s.count)).toEqual([9, 8, 5, 3]);
  });

  it('applies step filters with the audience language', async () => {
    const steps = [...SHOP_STEPS.slice(0, 3), { event: ORDER, where: 'total > 100' }];
    // u2's order total is "80" (a numeric string, compared as a number): only u1 (150) and u6 (250).
    const body = await report({ steps });
    expect(body.steps.map((s) => s.count)).toEqual([9, 8, 4, 2]);
  });

  it('compares with the previous period of equal length and flags the red steps', async () => {
    const body = await report({});
    // Previous: p1, p2, p3, u7 entered; p1, p2, u7 added; p1, p2 checked out and ordered.
    expect(body.previousPeriod?.from).toBe('2026-09-24T00:00:00.000Z');
    expect(body.previousPeriod?.to).toBe('2026-10-01T00:00:00.000Z');
    expect(table(body.previousPeriod?.steps ?? [])).toEqual([
      [4, 0, null, null],
      [3, 1, 120, 2904],
      [2, 1, 90, 114],
      [2, 0, 90, 114],
    ]);
    expect(body.steps.map((s) => s.change?.count)).toEqual([5, 5, 2, 1]);
    expect(body.steps[3]?.change?.conversionFromPrevious).toBeCloseTo(0.75 - 1, 10);
    expect(body.steps[2]?.change?.conversionFromPrevious).toBeCloseTo(0.5 - 2 / 3, 10);
    // Lowest step conversion: checkout (0.5). Largest fall: order (1 -> 0.75, versus 2/3 -> 0.5).
    expect(body.biggestDropOffs.map((d) => [d.step, d.event, d.reason])).toEqual([
      [3, CHECKOUT, 'lowest_conversion'],
      [4, ORDER, 'fell_vs_previous_period'],
    ]);
    expect(body.steps.map((s) => s.flags)).toEqual([[], [], ['lowest_conversion'], ['fell_vs_previous_period']]);
  });

  it('breaks down by a context field of the entry event: top N, "other" and "(none)"', async () => {
    const body = await report({ breakdown: { type: 'context', property: 'utm_source', limit: 2 } });
    // google: u1 u2 u6 (all convert); facebook: u3 (to Added), u5; other: newsletter u7, twitter u8;
    // (none): u4 and u9 (no campaign on their entry event).
    expect(body.breakdown.map((b) => [b.value, b.kind, ...b.steps.map((s) => s.count)])).toEqual([
      ['google', 'value', 3, 3, 3, 3],
      ['facebook', 'value', 2, 1, 0, 0],
      ['other', 'other', 2, 2, 1, 0],
      ['(none)', 'none', 2, 2, 0, 0],
    ]);
    const google = body.breakdown[0]?.steps ?? [];
    expect(table(google)).toEqual([
      [3, 0, null, null],
      [3, 0, 600, 600],
      [3, 0, 300, 1500],
      [3, 0, 600, 1080],
    ]);
    const other = body.breakdown[2]?.steps ?? [];
    expect(other[1]?.medianSecondsFromPrevious).toBe(86550);
    expect(other[1]?.p90SecondsFromPrevious).toBe(155550);
    // The totals do not change with a breakdown.
    expect(body.steps.map((s) => s.count)).toEqual([9, 8, 4, 3]);
  });

  it('breaks down by a profile trait', async () => {
    const body = await report({ breakdown: { type: 'trait', property: 'plan' } });
    expect(body.breakdown.map((b) => [b.value, ...b.steps.map((s) => s.count)])).toEqual([
      ['Pro', 2, 2, 2, 2],
      ['Free', 1, 1, 0, 0],
      ['(none)', 6, 5, 2, 1],
    ]);
  });

  it('leaves out the previous period on request and answers empty periods with zeros', async () => {
    const body = await report({ from: '2027-01-01', to: '2027-01-08', comparePrevious: false });
    expect(body.previousPeriod).toBeUndefined();
    expect(table(body.steps)).toEqual([
      [0, 0, null, null],
      [0, 0, null, null],
      [0, 0, null, null],
      [0, 0, null, null],
    ]);
    expect(body.steps[1]?.conversionFromPrevious).toBeNull();
    expect(body.complete).toBe(false);
  });

  it('answers 400 naming the field', async () => {
    const post = (body: Record<string, unknown>) =>
      app
        .http()
        .post('/api/funnels/report')
        .set('authorization', `Bearer ${ws.apiToken}`)
        .send({ steps: SHOP_STEPS, from: '2026-10-01', to: '2026-10-08', ...body })
        .expect(400);
    const filter = await post({ steps: [{ event: VIEWED }, { event: ADDED }, { event: ORDER, where: 'total >> 5' }] });
    expect(filter.body.message).toBe('steps[2].where: line 1, col 8: expected a "string", a number or a date');
    expect(filter.body.errors).toEqual([{ field: 'steps[2].where', reason: expect.stringMatching(/^line 1, col 8/) }]);
    expect((await post({ to: '2026-09-01' })).body.message).toBe('to: must be after from');
    expect((await post({ from: 'yesterday' })).body.message).toMatch(/^from: must be an ISO 8601 date/);
    expect((await post({ steps: [{ event: VIEWED }] })).body.message).toMatch(/^steps: must have at least 2 elements/);
    expect((await post({ mode: 'loose' })).body.message).toMatch(/^mode: must be one of sequential, strict/);
    expect((await post({ breakdown: { type: 'trait', property: 'a b' } })).body.message).toMatch(
      /^breakdown\.property: must be a property name/,
    );
  });

  it('needs an API token and only sees its own workspace', async () => {
    await app.http().post('/api/funnels/report').send({}).expect(401);
    const other = await createWorkspace(app, 'Other');
    const response = await app
      .http()
      .post('/api/funnels/report')
      .set('authorization', `Bearer ${other.apiToken}`)
      .send({ steps: SHOP_STEPS, from: '2026-10-01', to: '2026-10-08' })
      .expect(200);
    expect((response.body as Report).steps.map((s) => s.count)).toEqual([0, 0, 0, 0]);
  });
});
