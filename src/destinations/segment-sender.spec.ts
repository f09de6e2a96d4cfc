import { gunzipSync } from 'node:zlib';

import type { ClaimedDelivery } from './delivery.repository';
import type { SendOutcome } from './delivery-policy';
import type { HttpPoster } from './http-poster';
import { SEGMENT_HOLD_MAX_MS, SegmentSender } from './segment-sender';

interface Posted {
  url: string;
  headers: Record<string, string>;
  messages: { type: string; messageId: string }[];
  bytes: number;
}

/** An HttpPoster that records what would have been posted and answers `answer`. */
function fakePoster(answer: (index: number) => SendOutcome) {
  const posted: Posted[] = [];
  const poster = {
    send(target: string | URL, body: string | Buffer, headers: Record<string, string>): Promise<SendOutcome> {
      const json = gunzipSync(body);
      const { batch } = JSON.parse(json.toString('utf8')) as { batch: Posted['messages'] };
      posted.push({ url: String(target), headers, messages: batch, bytes: json.length });
      return Promise.resolve(answer(posted.length - 1));
    },
  };
  return { posted, poster: poster as unknown as HttpPoster };
}

function delivery(i: number, audienceName = 'Audience'): ClaimedDelivery {
  return {
    id: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
    workspaceId: 'ws',
    destinationId: 'dest',
    attempts: 1,
    kind: 'entered',
    at: new Date(0),
    audienceId: 'aud',
    audienceKey: 'crowd',
    audienceName,
    destinationType: 'segment',
    config: {},
    destinationVersion: new Date(0),
    profileId: `p-${i}`,
    traits: {},
    identities: [{ type: 'user_id', value: `u-${i}` }],
    email: null,
    suppression: null,
    connected: true,
    account: null,
    journey: null,
    traitChange: null,
    computed: {},
  };
}

const config = { url: 'https://cdp.example.test', writeKey: 'wk' };

describe('SegmentSender', () => {
  it('packs transitions sent together into few requests within Segment limits', async () => {
    const { posted, poster } = fakePoster(() => ({ kind: 'sent', providerMessageId: 'http 200' }));
    const sender = new SegmentSender(poster);
    const outcomes = await Promise.all(Array.from({ length: 1_300 }, (_, i) => sender.send(delivery(i), config)));
    expect(outcomes.every((o) => o.kind === 'sent')).toBe(true);
    // 1,250 transitions (2,500 messages) at most to a batch; these ~210-byte messages then hit 500 KB first.
    for (const request of posted) {
      expect(request.messages.length).toBeLessThanOrEqual(2_500);
      expect(request.bytes).toBeLessThanOrEqual(500 * 1024);
    }
    expect(posted.length).toBeLessThanOrEqual(4);
    expect(posted[0]!.url).toBe('https://cdp.example.test/v1/batch');
    expect(posted[0]!.headers).toMatchObject({
      authorization: `Basic ${Buffer.from('wk:').toString('base64')}`,
      'content-encoding': 'gzip',
    });
    const ids = posted.flatMap((p) => p.messages.map((m) => m.messageId));
    expect(new Set(ids).size).toBe(2_600);
  });

  it('keeps each request within 500 KB and a transition in one request', async () => {
    const { posted, poster } = fakePoster(() => ({ kind: 'sent' }));
    const sender = new SegmentSender(poster);
    await Promise.all(Array.from({ length: 300 }, (_, i) => sender.send(delivery(i, 'N'.repeat(3_000)), config)));
    expect(posted.length).toBeGreaterThan(1);
    for (const request of posted) {
      expect(request.bytes).toBeLessThanOrEqual(500 * 1024);
      expect(request.messages.length % 2).toBe(0);
    }
    expect(posted.reduce((n, p) => n + p.messages.length, 0)).toBe(600);
  });

  it('gives every transition of a request that request’s answer', async () => {
    const { poster } = fakePoster((index) =>
      index === 0 ? { kind: 'transient', error: 'http 503', retryAfterMs: 1_000 } : { kind: 'sent' },
    );
    const sender = new SegmentSender(poster);
    const outcomes = await Promise.all([0, 1, 2].map((i) => sender.send(delivery(i), config)));
    expect(outcomes.map((o) => o.kind)).toEqual(['transient', 'transient', 'transient']);
    // The same object: the processor retries them at the same moment and pauses the queue once.
    expect(new Set(outcomes).size).toBe(1);
  });

  it('refuses a transition whose message is over 32 KB without sending it', async () => {
    const { posted, poster } = fakePoster(() => ({ kind: 'sent' }));
    const sender = new SegmentSender(poster);
    const [big, small] = await Promise.all([
      sender.send(delivery(1, 'x'.repeat(40_000)), config),
      sender.send(delivery(2), config),
    ]);
    expect(big).toEqual({ kind: 'permanent', error: 'a message is over the 32 KB Segment allows' });
    expect(small.kind).toBe('sent');
    expect(posted).toHaveLength(1);
    expect(posted[0]!.messages).toHaveLength(2);
  });

  it('isolates the transitions a receiver refuses with 400 by halving the request', async () => {
    const bad = delivery(5, 'refused');
    const refused = (messages: Posted['messages']) => messages.some((m) => m.messageId.startsWith(bad.id));
    const { posted, poster } = fakePoster(() =>
      refused(posted[posted.length - 1]!.messages) ? { kind: 'permanent', error: 'http 400: bad' } : { kind: 'sent' },
    );
    const sender = new SegmentSender(poster);
    const outcomes = await Promise.all(
      Array.from({ length: 16 }, (_, i) => sender.send(i === 5 ? bad : delivery(i), config)),
    );
    expect(outcomes.map((o) => o.kind)).toEqual(Array.from({ length: 16 }, (_, i) => (i === 5 ? 'permanent' : 'sent')));
    // 1 + 2 per halving (16 → 8 → 4 → 2 → 1): 9 requests, not 16.
    expect(posted).toHaveLength(9);
  });

  it('holds a claim’s last, part-filled request back for a claim being read, and fills it with that claim', async () => {
    const { posted, poster } = fakePoster(() => ({ kind: 'sent' }));
    const sender = new SegmentSender(poster);
    // ~1,400-byte transitions: 1,250 of them are about 3.4 requests of 500 KB.
    const claim = (from: number) => Array.from({ length: 1_250 }, (_, i) => delivery(from + i, 'N'.repeat(260)));
    const read = sender.claiming('dest');
    const first = sender.sendMany(claim(0), config);
    read();
    const outcomes = await Promise.all([first, sender.sendMany(claim(1_250), config)]);
    expect(outcomes.flat().every((o) => o.kind === 'sent')).toBe(true);
    // 2,500 transitions in the 7 requests their bytes need, not 4 + 4.
    expect(posted).toHaveLength(7);
    for (const request of posted) expect(request.bytes).toBeLessThanOrEqual(500 * 1024);
    const ids = posted.flatMap((p) => p.messages.map((m) => m.messageId));
    expect(new Set(ids).size).toBe(5_000);
  });

  it('holds nothing when no claim is being read, and lets a held request go when the claim read brings nothing', async () => {
    const { posted, poster } = fakePoster(() => ({ kind: 'sent' }));
    const sender = new SegmentSender(poster);
    const claim = Array.from({ length: 1_250 }, (_, i) => delivery(i, 'N'.repeat(260)));
    await sender.sendMany(claim, config);
    expect(posted).toHaveLength(4);
    // A claim read meanwhile that brings nothing for this destination (another worker took it):
    // the held request waits while it is read, and goes out alone as soon as it is done.
    const read = sender.claiming('dest');
    let answered = false;
    const sending = sender.sendMany(claim, config).then((outcomes) => ((answered = true), outcomes));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);
    read();
    const outcomes = await sending;
    expect(outcomes.every((o) => o.kind === 'sent')).toBe(true);
    expect(posted).toHaveLength(8);
  });

  it('sends a held request after SEGMENT_HOLD_MAX_MS when the claim being read takes longer', async () => {
    const { posted, poster } = fakePoster(() => ({ kind: 'sent' }));
    const sender = new SegmentSender(poster);
    const claim = Array.from({ length: 1_250 }, (_, i) => delivery(i, 'N'.repeat(260)));
    const read = sender.claiming('dest');
    const started = Date.now();
    const outcomes = await sender.sendMany(claim, config);
    read();
    expect(outcomes.every((o) => o.kind === 'sent')).toBe(true);
    expect(posted).toHaveLength(4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(SEGMENT_HOLD_MAX_MS - 5);
  });

  it('does not halve on a 4xx that holds for every request (a wrong write key)', async () => {
    const { posted, poster } = fakePoster(() => ({ kind: 'permanent', error: 'http 401: unauthorized' }));
    const sender = new SegmentSender(poster);
    const outcomes = await Promise.all([0, 1, 2, 3].map((i) => sender.send(delivery(i), config)));
    expect(outcomes.every((o) => o.kind === 'permanent')).toBe(true);
    expect(posted).toHaveLength(1);
  });
});
