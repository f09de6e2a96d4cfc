/**
 * POST /api/funnels/audience: the people who reached step k but not step k+1 become an audience
 * whose definition is ordinary audience-language text, readable and editable.
 */
import { ManualClock } from '../../src/common/clock';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { profileOf, TestSql } from '../tracking/tracking-support';
import { CHECKOUT, ORDER, sendBatches, SHOP_BATCHES, SHOP_STEPS } from './funnel-fixture';

describe('POST /api/funnels/audience', () => {
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

  const post = (path: string, body: Record<string, unknown>) =>
    app.http().post(path).set('authorization', `Bearer ${ws.apiToken}`).send(body);

  it('saves "checked out but did not order" as a readable sequence with a negated last step', async () => {
    const response = await post('/api/funnels/audience', {
      steps: SHOP_STEPS,
      windowDays: 2,
      dropOffAfterStep: 3,
      key: 'checkout-drop-off',
      name: 'Dropped at checkout',
    }).expect(201);
    expect(response.body).toMatchObject({
      key: 'checkout-drop-off',
      name: 'Dropped at checkout',
      includeHistoricalData: true,
      definitionText:
        'performed "Product Viewed" then performed "Product Added" then performed "Checkout Started" ' +
        'then not performed "Order Completed" within 2 days',
      definitionAst: {
        type: 'sequence',
        steps: [{ event: 'Product Viewed' }, { event: 'Product Added' }, { event: 'Checkout Started' }],
        notFollowedBy: { event: 'Order Completed' },
        conversionWindow: { amount: 2, unit: 'days' },
      },
    });

    // The audience holds who the funnel shows dropping at that step: u8 (report: 4 checked out, 3 ordered).
    const preview = await post('/api/audiences/preview', { definition: response.body.definitionText }).expect(200);
    const sql = await TestSql.connect(app);
    try {
      const u8 = await profileOf(sql, ws.workspaceId, 'user_id', 'u8');
      expect(preview.body.count).toBe(1);
      const sample = (preview.body as { sample: { profileId: string }[] }).sample;
      expect(sample.map((p) => p.profileId)).toEqual([u8]);
    } finally {
      await sql.close();
    }
  });

  it('keeps step filters, so the text says exactly what the funnel measured', async () => {
    const response = await post('/api/funnels/audience', {
      steps: [{ event: CHECKOUT }, { event: ORDER, where: 'total > 100' }],
      dropOffAfterStep: 1,
      key: 'no-big-order',
      name: 'No big order',
      includeHistoricalData: false,
    }).expect(201);
    expect(response.body.definitionText).toBe(
      'performed "Checkout Started" then not performed "Order Completed" where total > 100 within 14 days',
    );
    expect(response.body.includeHistoricalData).toBe(false);
  });

  it('answers 400 naming the field, and 409 for a taken key', async () => {
    const base = { steps: SHOP_STEPS, key: 'x', name: 'X' };
    const last = await post('/api/funnels/audience', { ...base, dropOffAfterStep: 4 }).expect(400);
    expect(last.body.message).toMatch(/^dropOffAfterStep/);
    const filter = await post('/api/funnels/audience', {
      ...base,
      steps: [{ event: CHECKOUT, where: 'plan =' }, { event: ORDER }],
      dropOffAfterStep: 1,
    }).expect(400);
    expect(filter.body.message).toMatch(/^steps\[0\]\.where: line 1, col 7: /);
    const key = await post('/api/funnels/audience', { ...base, key: 'Bad Key', dropOffAfterStep: 1 }).expect(400);
    expect(key.body.message).toMatch(/^key: /);
    await post('/api/funnels/audience', { ...base, key: 'checkout-drop-off', dropOffAfterStep: 1 }).expect(409);
  });
});
