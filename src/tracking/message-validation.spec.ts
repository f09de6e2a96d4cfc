import 'reflect-metadata';

import { getMetadataStorage, validateSync } from 'class-validator';
import fc from 'fast-check';

import { FieldProblem, fieldProblems } from '../common/validation';
import { MESSAGE_RULES, messageProblems } from './message-validation';
import { MESSAGE_DTOS, MESSAGE_TYPES, MessageType } from './tracking.dto';

/** What the DTOs' decorators say about a message, through class-validator itself. */
function dtoProblems(type: MessageType, message: Record<string, unknown>, field: string): FieldProblem[] {
  const instance = Object.assign(new MESSAGE_DTOS[type](), message);
  const errors = validateSync(instance, {
    forbidUnknownValues: false,
    stopAtFirstError: true,
    validationError: { target: false, value: false },
  });
  return errors.length === 0 ? [] : fieldProblems(errors, field);
}

const FIELDS = [
  'userId',
  'anonymousId',
  'messageId',
  'timestamp',
  'originalTimestamp',
  'sentAt',
  'context',
  'integrations',
  'event',
  'properties',
  'traits',
  'name',
  'category',
  'groupId',
  'previousId',
  'channel',
];

const VALUES: unknown[] = [
  null,
  '',
  'a',
  ' ',
  42,
  0,
  true,
  [],
  [1],
  {},
  { a: 1 },
  'm'.repeat(100),
  'm'.repeat(101),
  'x'.repeat(255),
  'x'.repeat(256),
  '\uFE0F',
  'a\uFE0F',
  '\uD83D\uDE00'.repeat(128),
  '\uD83D\uDE00'.repeat(255),
  '\uD83D\uDE00'.repeat(256),
  'a\uFE0F'.repeat(255),
  'é'.repeat(256),
  '\uD800',
  '2024-05-01T12:00:00.000Z',
  '2024-05-01T12:00:00+02:00',
  '2024-05-01',
  '2024-02-30T10:00:00Z',
  '2024-13-01',
  '2024-W01',
  'yesterday',
];

const message = fc.dictionary(fc.constantFrom(...FIELDS), fc.constantFrom(...VALUES), { maxKeys: 8 });

describe('messageProblems', () => {
  it.each(MESSAGE_TYPES)('reports what class-validator reports for %s messages', (type) => {
    fc.assert(
      fc.property(message, fc.constantFrom('', 'batch[7]'), (body, field) => {
        expect(messageProblems(type, body, field)).toEqual(dtoProblems(type, body, field));
      }),
      { numRuns: 3_000 },
    );
  });

  it.each(MESSAGE_TYPES)('checks every field the %s DTO declares, in its order', (type) => {
    const declared = getMetadataStorage().groupByPropertyName(
      getMetadataStorage().getTargetValidationMetadatas(MESSAGE_DTOS[type], '', false, false),
    );
    expect(MESSAGE_RULES[type].map((r) => r.property)).toEqual(Object.keys(declared));
  });

  it('names the field and reason of each problem', () => {
    expect(messageProblems('track', { userId: 42, event: '' }, 'batch[2]')).toEqual([
      { field: 'batch[2].event', reason: 'must not be empty' },
      { field: 'batch[2].userId', reason: 'must be a string' },
    ]);
    expect(messageProblems('identify', { anonymousId: 'a' }, '')).toEqual([]);
  });

  it('counts an empty userId or anonymousId as absent (RudderStack sends userId "" before identify)', () => {
    for (const problems of [messageProblems, dtoProblems]) {
      expect(problems('page', { userId: '', anonymousId: 'anon' }, '')).toEqual([]);
      expect(problems('track', { userId: 'user', anonymousId: '', event: 'E' }, '')).toEqual([]);
      expect(problems('track', { userId: '', anonymousId: null, event: 'E' }, 'batch[0]')).toEqual([
        { field: 'batch[0].userId', reason: 'is required unless anonymousId is given' },
        { field: 'batch[0].anonymousId', reason: 'is required unless userId is given' },
      ]);
    }
  });
});
