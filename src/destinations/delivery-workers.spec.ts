import { workerShape } from './delivery-workers.service';

describe('workerShape', () => {
  const email = { type: 'email' as const, config: { maxConnections: 4 }, rateLimitPerSecond: null };

  it('sizes workers from the concurrency settings', () => {
    expect(workerShape(email, { deliveriesPerConnection: 10, webhookConcurrency: 10 }).concurrency).toBe(2);
    expect(workerShape(email, { deliveriesPerConnection: 50, webhookConcurrency: 10 }).concurrency).toBe(4);
    expect(
      workerShape({ ...email, rateLimitPerSecond: 5 }, { deliveriesPerConnection: 3, webhookConcurrency: 10 }),
    ).toMatchObject({ concurrency: 12, splitBatches: true });
    const webhook = { type: 'webhook' as const, config: {}, rateLimitPerSecond: null };
    expect(workerShape(webhook, { deliveriesPerConnection: 10, webhookConcurrency: 25 }).concurrency).toBe(25);
  });

  it('keeps batch jobs whole for segment and slack unless a limiter counts deliveries', () => {
    const segment = { type: 'segment' as const, config: {}, rateLimitPerSecond: null };
    const concurrency = { deliveriesPerConnection: 10, webhookConcurrency: 10 };
    expect(workerShape(segment, concurrency)).toMatchObject({ splitBatches: false, concurrency: 50 });
    expect(workerShape({ ...segment, rateLimitPerSecond: 50 }, concurrency)).toMatchObject({ splitBatches: true });
    expect(workerShape({ ...segment, type: 'slack' }, concurrency)).toMatchObject({
      splitBatches: false,
      concurrency: 20,
    });
  });
});
