import type { ClaimedDelivery } from './delivery.repository';
import { audienceMessages, messageIdFor, messagesFor } from './segment-messages';
import { batchBody, packRequests } from './segment-requests';
import { segmentBatchUrl } from './sync-config';

function delivery(overrides: Partial<ClaimedDelivery> = {}): ClaimedDelivery {
  return {
    id: '11111111-2222-3333-4444-555555555555',
    workspaceId: 'ws',
    destinationId: 'dest',
    attempts: 1,
    kind: 'entered',
    at: new Date('2026-11-27T10:00:00.000Z'),
    audienceId: 'aud',
    audienceKey: 'trial_users',
    audienceName: 'Trial users',
    destinationType: 'segment',
    config: {},
    destinationVersion: new Date(0),
    profileId: 'profile-1',
    traits: { plan: 'trial', email: 'ann@example.com' },
    identities: [
      { type: 'anonymous_id', value: 'anon-1' },
      { type: 'user_id', value: 'u-1' },
    ],
    email: 'ann@example.com',
    suppression: null,
    connected: true,
    account: null,
    journey: null,
    traitChange: null,
    computed: {},
    ...overrides,
  };
}

describe('audienceMessages', () => {
  it('sends identify with the audience trait and track Audience Entered, as Engage does', () => {
    const [identify, track] = audienceMessages(delivery());
    expect(identify).toEqual({
      type: 'identify',
      messageId: messageIdFor(delivery().id, 'identify'),
      timestamp: '2026-11-27T10:00:00.000Z',
      userId: 'u-1',
      anonymousId: 'anon-1',
      traits: { email: 'ann@example.com', trial_users: true },
      context: expect.objectContaining({
        library: { name: 'personae', version: '0.1.0' },
        traits: { email: 'ann@example.com' },
        personas: expect.objectContaining({ computation_class: 'audience', computation_key: 'trial_users' }),
      }) as unknown,
    });
    expect(track).toMatchObject({
      type: 'track',
      event: 'Audience Entered',
      messageId: `${delivery().id}-track`,
      userId: 'u-1',
      anonymousId: 'anon-1',
      properties: { audience_key: 'trial_users', trial_users: true },
    });
  });

  it('sends false and Audience Exited when the profile leaves', () => {
    const [identify, track] = audienceMessages(delivery({ kind: 'exited' }));
    expect(identify).toMatchObject({ traits: { trial_users: false } });
    expect(track).toMatchObject({
      event: 'Audience Exited',
      properties: { audience_key: 'trial_users', trial_users: false },
    });
  });

  it('is the same on every attempt (messageIds included)', () => {
    expect(audienceMessages(delivery({ attempts: 5 }))).toEqual(audienceMessages(delivery({ attempts: 1 })));
  });

  it('gives a profile without user or anonymous id its profile id as anonymousId', () => {
    const [identify] = audienceMessages(delivery({ identities: [{ type: 'email', value: 'ann@example.com' }] }));
    expect(identify).toMatchObject({ anonymousId: 'personae-profile-1', traits: { email: 'ann@example.com' } });
    expect(identify).not.toHaveProperty('userId');
  });

  it('leaves out what the profile does not have', () => {
    const [identify] = audienceMessages(delivery({ identities: [{ type: 'user_id', value: 'u-9' }], email: null }));
    expect(identify).not.toHaveProperty('anonymousId');
    expect(identify).toMatchObject({ traits: { trial_users: true } });
    expect((identify as { traits: object }).traits).toEqual({ trial_users: true });
    expect(identify!.context).not.toHaveProperty('traits');
  });
});

describe('packRequests', () => {
  const limits = { maxBytes: 1_000, maxMessages: 5, maxMessageBytes: 300 };
  const message = (n: number) => 'x'.repeat(n);

  it('splits by message count, keeping a delivery in one request', () => {
    const deliveries = Array.from({ length: 6 }, () => [message(10), message(10)]);
    expect(packRequests(deliveries, limits).requests).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
  });

  it('splits by bytes with the envelope counted', () => {
    const deliveries = Array.from({ length: 4 }, () => [message(250), message(250)]);
    const { requests } = packRequests(deliveries, { ...limits, maxMessages: 100 });
    expect(requests).toEqual([[0], [1], [2], [3]]);
    for (const request of requests) {
      const body = batchBody(
        request.flatMap((i) => deliveries[i]!),
        new Date(),
      );
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(limits.maxBytes);
    }
  });

  it('sets apart a delivery with a message over the per-message limit', () => {
    expect(packRequests([[message(10)], [message(301)], [message(10)]], limits)).toEqual({
      requests: [[0, 2]],
      oversized: [1],
    });
  });

  it('stays within Segment limits for a big backlog', () => {
    const deliveries = Array.from({ length: 3_000 }, (_, i) => [message(150 + (i % 7)), message(200)]);
    const { requests } = packRequests(deliveries);
    expect(requests.flat()).toEqual(deliveries.map((_, i) => i));
    for (const request of requests) {
      const messages = request.flatMap((i) => deliveries[i]!);
      expect(messages.length).toBeLessThanOrEqual(2_500);
      expect(Buffer.byteLength(batchBody(messages, new Date()))).toBeLessThanOrEqual(500 * 1024);
    }
  });
});

describe('segmentBatchUrl', () => {
  it('appends /v1/batch once', () => {
    expect(segmentBatchUrl({ url: 'https://api.segment.io', writeKey: 'k' }).toString()).toBe(
      'https://api.segment.io/v1/batch',
    );
    expect(segmentBatchUrl({ url: 'https://cdp.customer.io/', writeKey: 'k' }).toString()).toBe(
      'https://cdp.customer.io/v1/batch',
    );
    expect(segmentBatchUrl({ url: 'https://x.example/v1/batch', writeKey: 'k' }).toString()).toBe(
      'https://x.example/v1/batch',
    );
    expect(segmentBatchUrl({ url: 'http://127.0.0.1:8080/ingest', writeKey: 'k' }).toString()).toBe(
      'http://127.0.0.1:8080/ingest/v1/batch',
    );
  });
});

describe('messagesFor', () => {
  it('sends a trait change as one identify with the new value, under the delivery id', () => {
    const change = { changeId: '7', traitId: 't', key: 'ltv', name: 'LTV', oldValue: 10, newValue: 25 };
    const messages = messagesFor(delivery({ traitChange: change, audienceKey: '' }));
    expect(messages).toEqual([
      expect.objectContaining({
        type: 'identify',
        messageId: `${delivery().id}-identify`,
        userId: 'u-1',
        traits: { email: 'ann@example.com', ltv: 25 },
        context: expect.objectContaining({
          personas: expect.objectContaining({ computation_class: 'trait', computation_key: 'ltv' }),
        }) as unknown,
      }),
    ]);
    const gone = messagesFor(delivery({ traitChange: { ...change, newValue: null } }));
    expect(gone[0]).toMatchObject({ traits: { ltv: null } });
  });

  it('sends an account transition as the member identify and a group call with the audience trait', () => {
    const account = { groupId: 'acme', traits: {}, members: 2, activeMembers14d: 1, computed: {} };
    const [identify, group] = messagesFor(delivery({ account, audienceKey: 'accounts_red', kind: 'exited' }));
    expect(identify).toMatchObject({ type: 'identify', userId: 'u-1', traits: { email: 'ann@example.com' } });
    expect(group).toMatchObject({
      type: 'group',
      messageId: `${delivery().id}-group`,
      userId: 'u-1',
      anonymousId: 'anon-1',
      groupId: 'acme',
      traits: { accounts_red: false },
    });
  });
});
