import fc from 'fast-check';

import { serializeMessage } from './message-json';
import { batchMessages, MAX_MESSAGE_BYTES, singleMessage } from './message-reader';
import { NormalizedMessage } from './tracking-messages';

const receivedAt = new Date('2024-05-01T12:00:00.000Z');
const jsonObject = fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 });
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

/** The shape JSON.parse gives: no undefined members. */
function parsed<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function expectStoredJsonMatches(message: NormalizedMessage): void {
  expect(message.json.properties).toBe(JSON.stringify(message.properties));
  expect(message.json.context).toBe(JSON.stringify(message.context));
  expect(message.json.traits).toBe(message.traits === null ? null : JSON.stringify(message.traits));
  expect(message.json.integrations).toBe(message.integrations === null ? null : JSON.stringify(message.integrations));
}

describe('message serialization', () => {
  it('measures exactly what JSON.stringify writes, and keeps the texts of the JSON fields', () => {
    fc.assert(
      fc.property(jsonObject, jsonObject, maybe(jsonObject), (message, context, traits) => {
        const body = parsed({ ...message, context, traits });
        const serialized = serializeMessage(body);
        expect(serialized.length).toBe(JSON.stringify(body).length);
        expect(serialized.texts.context).toBe(JSON.stringify(body.context));
        expect(serialized.texts.traits).toBe(traits === undefined ? undefined : JSON.stringify(traits));
      }),
    );
  });

  it('stores the JSON columns as the text of the stored values', () => {
    const message = fc.record(
      {
        type: fc.constantFrom('track', 'identify', 'page', 'screen', 'group', 'alias'),
        anonymousId: fc.constant('a'),
        event: fc.constant('E'),
        groupId: fc.constant('g'),
        previousId: fc.constant('p'),
        category: fc.constantFrom('Docs', ''),
        properties: fc.oneof(jsonObject, fc.constant({ category: 'own' })),
        traits: jsonObject,
        context: fc.oneof(
          jsonObject,
          fc.constant({}),
          fc.constant({ ip: '10.0.0.1', locale: 'en' }),
          fc.record({ traits: jsonObject }),
        ),
        integrations: jsonObject,
      },
      { requiredKeys: ['type', 'anonymousId', 'event', 'groupId', 'previousId'] },
    );
    const batch = fc.record(
      { batch: fc.array(message, { minLength: 1, maxLength: 5 }), context: jsonObject, integrations: jsonObject },
      { requiredKeys: ['batch'] },
    );
    fc.assert(
      fc.property(batch, maybe(fc.constantFrom('192.0.2.1', '2001:db8::1')), (body, ip) => {
        const meta = ip === undefined ? { receivedAt } : { receivedAt, ip };
        const read = batchMessages(parsed(body), meta);
        expect(read.rejected).toEqual([]);
        for (const stored of read.messages) expectStoredJsonMatches(stored);
        const first = parsed(body.batch[0]);
        const single = first && singleMessage('track', first, meta).messages[0];
        if (single) expectStoredJsonMatches(single);
      }),
    );
  });

  it('refuses a message over 32 KB, counting UTF-8 bytes exactly', () => {
    const message = (text: string) => ({ type: 'track', userId: 'u', event: 'E', properties: { text } });
    const sized = (bytes: number, char = 'é') => {
      const room = bytes - Buffer.byteLength(JSON.stringify(message('')));
      const text = char.repeat(Math.floor(room / Buffer.byteLength(char)));
      return message(text + 'x'.repeat(room - Buffer.byteLength(text)));
    };
    expect(Buffer.byteLength(JSON.stringify(sized(MAX_MESSAGE_BYTES)))).toBe(MAX_MESSAGE_BYTES);
    expect(singleMessage('track', sized(MAX_MESSAGE_BYTES), { receivedAt }).rejected).toEqual([]);
    expect(singleMessage('track', sized(MAX_MESSAGE_BYTES, '\u{1F600}'), { receivedAt }).rejected).toEqual([]);

    const read = batchMessages({ batch: [sized(MAX_MESSAGE_BYTES + 1)] }, { receivedAt });
    expect(read.messages).toEqual([]);
    expect(read.rejected).toMatchObject([
      {
        index: 0,
        reason: 'too_large',
        errors: [{ field: 'batch[0]', reason: 'is 32769 bytes; a message may be at most 32768 bytes (32 KB)' }],
      },
    ]);
  });
});

describe('RudderStack messages', () => {
  const identify = { type: 'identify', anonymousId: 'anon-1', userId: 'user-1' };

  it('takes identify traits from context.traits, the top-level traits winning', () => {
    const contextOnly = { ...identify, context: { traits: { email: 'a@example.com', plan: 'free' } } };
    const [stored] = batchMessages({ batch: [contextOnly] }, { receivedAt }).messages;
    expect(stored?.traits).toEqual({ email: 'a@example.com', plan: 'free' });
    expect(stored && JSON.parse(stored.json.traits ?? 'null')).toEqual({ email: 'a@example.com', plan: 'free' });

    const both = { ...contextOnly, traits: { plan: 'pro', seats: 3 } };
    expect(singleMessage('identify', both, { receivedAt }).messages[0]?.traits).toEqual({
      email: 'a@example.com',
      plan: 'pro',
      seats: 3,
    });
  });

  it('keeps context.traits out of the traits of other calls', () => {
    const context = { traits: { email: 'a@example.com' } };
    const [track, group] = batchMessages(
      {
        batch: [
          { type: 'track', anonymousId: 'anon-1', event: 'E', context },
          { type: 'group', anonymousId: 'anon-1', groupId: 'g', traits: { name: 'G' }, context },
        ],
      },
      { receivedAt },
    ).messages;
    expect(track?.traits).toBeNull();
    expect(group?.traits).toEqual({ name: 'G' });
  });

  it('reads an empty userId as absent', () => {
    const [page] = singleMessage('page', { userId: '', anonymousId: 'anon-1', name: 'Home' }, { receivedAt }).messages;
    expect(page?.userId).toBeNull();
    expect(page?.anonymousId).toBe('anon-1');
  });
});
