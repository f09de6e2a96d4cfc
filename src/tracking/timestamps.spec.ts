import fc from 'fast-check';

import { parseTimestamp } from './timestamps';

const iso = (value: string) => parseTimestamp(value)?.toISOString();

describe('parseTimestamp', () => {
  it.each([
    // Segment's own HTTP API batch example
    ['2015-2-02T00:30:08.276Z', '2015-02-02T00:30:08.276Z'],
    ['2015-02-02T00:30:08.276Z', '2015-02-02T00:30:08.276Z'],
    ['2024-5-1 7:05:09Z', '2024-05-01T07:05:09.000Z'],
    ['2024-05-01 12:00', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01T12:00Z', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01', '2024-05-01T00:00:00.000Z'],
    ['2024-05-01T12:00:00+02:00', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01T12:00:00-0530', '2024-05-01T17:30:00.000Z'],
    ['2024-05-01T12:00:00+2', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01T12:00:00.1234567Z', '2024-05-01T12:00:00.123Z'],
    ['2024-05-01T12:00:00,5Z', '2024-05-01T12:00:00.500Z'],
    ['  2024-05-01T12:00:00Z  ', '2024-05-01T12:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['0099-06-01T00:00:00Z', '0099-06-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ])('reads %s', (text, expected) => {
    expect(iso(text)).toBe(expected);
  });

  it.each([
    'yesterday',
    '2024-02-30T10:00:00Z',
    '2023-02-29',
    '2024-13-01',
    '2024-00-10',
    '2024-05-01T24:00:00Z',
    '2024-05-01T12:60:00Z',
    '2024-05-01T12:00:61Z',
    '0000-01-01T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    '2024-W01',
    '12:00',
    '',
    '2024-05-01T12:00:00+24:00',
    '2024-05-01T12:00:00Zjunk',
  ])('refuses %s', (text) => {
    expect(parseTimestamp(text)).toBeUndefined();
  });

  it('refuses what is not a string', () => {
    for (const value of [null, undefined, 0, 1714564800000, {}, []]) expect(parseTimestamp(value)).toBeUndefined();
  });

  it('reads the ISO form as the lenient form reads it, whatever digits it holds', () => {
    // The ISO form is read without the regular expression; a space instead of `T` takes the other way.
    // Each field a little past its valid range at both ends, so that refusals are covered too.
    const field = (min: number, max: number, size: number) =>
      fc.integer({ min, max }).map((n) => String(n).padStart(size, '0'));
    const parts = fc.tuple(
      fc.oneof(field(0, 120, 4), field(1900, 2100, 4), field(9990, 9999, 4)),
      field(0, 13, 2),
      field(0, 32, 2),
      field(0, 24, 2),
      field(0, 60, 2),
      field(0, 60, 2),
      field(0, 999, 3),
    );
    fc.assert(
      fc.property(parts, fc.boolean(), ([y, mo, d, h, mi, s, ms], withMillis) => {
        const tail = withMillis ? `.${ms}Z` : 'Z';
        const fast = parseTimestamp(`${y}-${mo}-${d}T${h}:${mi}:${s}${tail}`);
        const lenient = parseTimestamp(`${y}-${mo}-${d} ${h}:${mi}:${s}${tail}`);
        expect(fast?.getTime()).toBe(lenient?.getTime());
      }),
      { numRuns: 5_000 },
    );
  });

  it('reads every instant of years 1-9999 back from its ISO form and from its unpadded form', () => {
    const instant = fc.date({
      min: new Date('0001-01-01T00:00:00Z'),
      max: new Date('9999-12-31T23:59:59.999Z'),
      noInvalidDate: true,
    });
    fc.assert(
      fc.property(instant, (date) => {
        expect(parseTimestamp(date.toISOString())?.getTime()).toBe(date.getTime());
        const pad = (n: number, size: number) => String(n).padStart(size, '0');
        const unpadded =
          `${pad(date.getUTCFullYear(), 4)}-${date.getUTCMonth() + 1}-${date.getUTCDate()} ` +
          `${date.getUTCHours()}:${date.getUTCMinutes()}:${date.getUTCSeconds()}.${pad(date.getUTCMilliseconds(), 3)}`;
        expect(parseTimestamp(unpadded)?.getTime()).toBe(date.getTime());
      }),
      { numRuns: 2_000 },
    );
  });
});
