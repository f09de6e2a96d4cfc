/**
 * A small shop whose funnel tables are computed by hand in funnels-report.e2e-spec.ts. Every
 * person is there for a reason (named in the comment next to them); events go through the
 * Segment-compatible tracking API, so identity resolution and merges are the real ones.
 */
import { randomUUID } from 'node:crypto';

import type { TestApp, WorkspaceCredentials } from '../support/app';
import { basicAuth } from '../tracking/tracking-support';

export const VIEWED = 'Product Viewed';
export const ADDED = 'Product Added';
export const CHECKOUT = 'Checkout Started';
export const ORDER = 'Order Completed';
export const SHOP_STEPS = [VIEWED, ADDED, CHECKOUT, ORDER].map((event) => ({ event }));

type Who = { userId: string } | { anonymousId: string };

export interface Message {
  type: 'track' | 'identify';
  who: Who;
  event?: string;
  at: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  source?: string;
}

const track = (who: Who, event: string, at: string, extra: Partial<Message> = {}): Message => ({
  type: 'track',
  who,
  event,
  at,
  ...extra,
});
const user = (id: string): Who => ({ userId: id });

/** Batches are sent in order, one after the other: later batches see the profiles earlier ones made. */
export const SHOP_BATCHES: Message[][] = [
  [
    // Previous period [2026-09-24, 2026-10-01).
    track(user('p1'), VIEWED, '2026-09-25T10:00:00Z'),
    track(user('p1'), ADDED, '2026-09-25T10:01:00Z'),
    track(user('p1'), CHECKOUT, '2026-09-25T10:02:00Z'),
    track(user('p1'), ORDER, '2026-09-25T10:03:00Z'),
    track(user('p2'), VIEWED, '2026-09-26T10:00:00Z'),
    track(user('p2'), ADDED, '2026-09-26T10:02:00Z'),
    track(user('p2'), CHECKOUT, '2026-09-26T10:04:00Z'),
    track(user('p2'), ORDER, '2026-09-26T10:06:00Z'),
    track(user('p3'), VIEWED, '2026-09-27T10:00:00Z'),
    track(user('u7'), VIEWED, '2026-09-30T10:00:00Z'),
    track(user('u7'), ADDED, '2026-09-30T11:00:00Z'),

    // Current period [2026-10-01, 2026-10-08).
    // u1: straight through, from Google, plan Pro.
    { type: 'identify', who: user('u1'), at: '2026-10-01T09:00:00Z', traits: { plan: 'Pro' } },
    track(user('u1'), VIEWED, '2026-10-01T10:00:00Z', { source: 'google' }),
    track(user('u1'), ADDED, '2026-10-01T10:05:00Z'),
    track(user('u1'), CHECKOUT, '2026-10-01T10:10:00Z'),
    track(user('u1'), ORDER, '2026-10-01T10:20:00Z', { properties: { total: 150 } }),
    // u2: straight through, from Google, plan Pro, a small order.
    { type: 'identify', who: user('u2'), at: '2026-10-02T08:00:00Z', traits: { plan: 'Pro' } },
    track(user('u2'), VIEWED, '2026-10-02T09:00:00Z', { source: 'google' }),
    track(user('u2'), ADDED, '2026-10-02T09:10:00Z'),
    track(user('u2'), CHECKOUT, '2026-10-02T09:40:00Z'),
    track(user('u2'), ORDER, '2026-10-02T10:00:00Z', { properties: { total: '80' } }),
    // u3: skips checkout; strict and sequential both stop at Added.
    { type: 'identify', who: user('u3'), at: '2026-10-03T11:00:00Z', traits: { plan: 'Free' } },
    track(user('u3'), VIEWED, '2026-10-03T12:00:00Z', { source: 'facebook' }),
    track(user('u3'), ADDED, '2026-10-03T13:00:00Z'),
    track(user('u3'), ORDER, '2026-10-03T13:30:00Z'),
    // u4: views twice (strict stops at step 1), checks out 49 h after entering (outside 2 days).
    track(user('u4'), VIEWED, '2026-10-04T08:00:00Z'),
    track(user('u4'), VIEWED, '2026-10-04T08:30:00Z'),
    track(user('u4'), ADDED, '2026-10-04T09:00:00Z'),
    track(user('u4'), CHECKOUT, '2026-10-06T09:00:00Z'),
    // u5: adds at the very millisecond of the view: not "after", so step 1 only.
    track(user('u5'), VIEWED, '2026-10-05T10:00:00.000Z', { source: 'facebook' }),
    track(user('u5'), ADDED, '2026-10-05T10:00:00.000Z'),
    // u6: checkout before add: sequential skips it and converts fully; strict stops at step 1.
    track(user('u6'), VIEWED, '2026-10-06T10:00:00Z', { source: 'google' }),
    track(user('u6'), CHECKOUT, '2026-10-06T10:05:00Z'),
    track(user('u6'), ADDED, '2026-10-06T10:10:00Z'),
    track(user('u6'), CHECKOUT, '2026-10-06T10:15:00Z'),
    track(user('u6'), ORDER, '2026-10-06T10:20:00Z', { properties: { total: 250 } }),
    // u7: also entered last period; this period from its first view in range; adds exactly 48 h later.
    track(user('u7'), VIEWED, '2026-10-02T15:00:00Z', { source: 'newsletter' }),
    track(user('u7'), ADDED, '2026-10-04T15:00:00Z'),
    // u8: browses anonymously, then logs in: one person.
    track({ anonymousId: 'anon-8' }, VIEWED, '2026-10-03T09:00:00Z', { source: 'twitter' }),
    track({ anonymousId: 'anon-8' }, ADDED, '2026-10-03T09:05:00Z'),
  ],
  [
    { type: 'identify', who: { userId: 'u8', anonymousId: 'anon-8' }, at: '2026-10-03T09:20:00Z' },
    track(user('u8'), CHECKOUT, '2026-10-03T09:30:00Z'),
    // u9: two profiles (anonymous view, known add) merged by a later identify.
    track({ anonymousId: 'anon-9' }, VIEWED, '2026-10-05T12:00:00Z'),
  ],
  [track(user('u9'), ADDED, '2026-10-05T12:30:00Z')],
  [
    { type: 'identify', who: { userId: 'u9', anonymousId: 'anon-9' }, at: '2026-10-05T13:00:00Z' },
    // u10: views exactly at `to`, which is not in the period.
    track(user('u10'), VIEWED, '2026-10-08T00:00:00Z'),
  ],
];

function toSegment(message: Message): Record<string, unknown> {
  const context = message.source ? { campaign: { source: message.source, medium: 'x', name: 'y' } } : {};
  return {
    type: message.type,
    ...message.who,
    ...(message.event && { event: message.event }),
    ...(message.properties && { properties: message.properties }),
    ...(message.traits && { traits: message.traits }),
    context,
    timestamp: message.at,
    messageId: randomUUID(),
  };
}

export async function sendBatches(app: TestApp, ws: WorkspaceCredentials, batches: Message[][]): Promise<void> {
  for (const batch of batches) {
    await app
      .http()
      .post('/v1/batch')
      .set('authorization', basicAuth(ws.writeKey))
      .send({ batch: batch.map(toSegment) })
      .expect(200);
  }
}
