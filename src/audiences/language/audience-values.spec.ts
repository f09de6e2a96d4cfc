import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  compareCodePoints,
  INSTANT_STRING_PATTERN,
  isValidDateLiteral,
  jsonAtPath,
  jsonNumber,
  NUMERIC_STRING_MAX_LENGTH,
  NUMERIC_STRING_PATTERN,
  parseInstant,
} from './audience-values';

describe('audience values', () => {
  it('uses the same patterns as the SQL functions in the migration', () => {
    const migration = (name: string) =>
      readFileSync(join(__dirname, `../../../prisma/migrations/${name}/migration.sql`), 'utf8');
    const number = migration('20261122030000_faster_json_number');
    expect(number).toContain(`'${NUMERIC_STRING_PATTERN}'`);
    expect(number).toContain(`length(value #>> '{}') <= ${NUMERIC_STRING_MAX_LENGTH}`);
    expect(migration('20261122010000_audience_functions')).toContain(`'${INSTANT_STRING_PATTERN}'`);
  });

  it.each<[unknown, number | undefined]>([
    [42, 42],
    ['42', 42],
    ['-0.5', -0.5],
    ['042', 42],
    ['1'.repeat(300), Number('1'.repeat(300))],
    ['1'.repeat(301), undefined],
    [1e300, 1e300],
    ['42.', undefined],
    [' 42', undefined],
    ['4e2', undefined],
    ['+4', undefined],
    ['', undefined],
    [true, undefined],
    [null, undefined],
  ])('reads %j as the number %j', (value, expected) => {
    expect(jsonNumber(value)).toBe(expected);
  });

  it.each<[string, string | undefined]>([
    ['2026-01-31', '2026-01-31T00:00:00.000Z'],
    ['2026-01-31T10:00', '2026-01-31T10:00:00.000Z'],
    ['2026-01-31 10:00:05.5', '2026-01-31T10:00:05.500Z'],
    ['2026-01-31T10:00:00+05:30', '2026-01-31T04:30:00.000Z'],
    ['2026-01-31T23:30:00.123-0800', '2026-02-01T07:30:00.123Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
    ['2026-02-29', undefined],
    ['2026-04-31', undefined],
    ['2026-13-01', undefined],
    ['2026-01-31T24:00', undefined],
    ['2026-01-31T10:00:00.1234Z', undefined],
    ['0999-01-01', undefined],
    ['2026-01-31Z', undefined],
    ['yesterday', undefined],
  ])('reads %s as the instant %s', (text, expected) => {
    const millis = parseInstant(text);
    expect(millis === undefined ? undefined : new Date(millis).toISOString()).toBe(expected);
  });

  it('accepts only T-separated, colon-offset date literals in definitions', () => {
    expect(isValidDateLiteral('2026-01-31T10:00:00+05:30')).toBe(true);
    expect(isValidDateLiteral('2026-01-31 10:00:00')).toBe(false);
    expect(isValidDateLiteral('2026-01-31T10:00:00+0530')).toBe(false);
    expect(isValidDateLiteral('2026-02-30')).toBe(false);
  });

  it('follows paths like #> does, negative array indexes included', () => {
    const doc = { a: { b: [10, 20, 30] }, n: null };
    expect(jsonAtPath(doc, ['a', 'b', '1'])).toBe(20);
    expect(jsonAtPath(doc, ['a', 'b', '-1'])).toBe(30);
    expect(jsonAtPath(doc, ['a', 'b', '-4'])).toBeUndefined();
    expect(jsonAtPath(doc, ['a', 'b', 'x'])).toBeUndefined();
    expect(jsonAtPath(doc, ['n'])).toBeNull();
    expect(jsonAtPath(doc, ['n', 'x'])).toBeUndefined();
    expect(jsonAtPath(doc, ['toString'])).toBeUndefined();
  });

  it('orders strings by code point, as COLLATE "C" does on UTF-8', () => {
    // U+FF5E sorts before U+1F600 by code point, after it by UTF-16 unit.
    expect(compareCodePoints('\uFF5E', '😀')).toBeLessThan(0);
    expect('\uFF5E' < '😀').toBe(false);
    expect(compareCodePoints('a', 'ab')).toBeLessThan(0);
    expect(compareCodePoints('B', 'a')).toBeLessThan(0);
    expect(compareCodePoints('é', 'é')).toBe(0);
  });
});
