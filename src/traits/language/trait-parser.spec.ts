import fc from 'fast-check';

import { anyValuePools } from '../../../test/oracles/audience-arbitrary';
import { traitArbitrary } from '../../../test/oracles/trait-arbitrary';
import { readTraitDefinition } from './trait-definition';
import { parseTrait } from './trait-parser';
import { printTrait } from './trait-printer';
import { validateTraitAst } from './trait-validator';

const week = { kind: 'within', duration: { amount: 7, unit: 'days' } };

describe('trait language', () => {
  it.each([
    ['count "Login" within 7 days', { type: 'count', event: 'Login', window: week }],
    [
      'count "Order Completed" where total > 100',
      { type: 'count', event: 'Order Completed', where: [{ path: ['total'], op: 'gt', value: 100 }] },
    ],
    [
      'SUM "Order Completed".revenue within 90 days',
      {
        type: 'aggregate',
        fn: 'sum',
        event: 'Order Completed',
        property: ['revenue'],
        window: { kind: 'within', duration: { amount: 90, unit: 'days' } },
      },
    ],
    [
      'avg "Order Completed"."line items".price',
      { type: 'aggregate', fn: 'avg', event: 'Order Completed', property: ['line items', 'price'] },
    ],
    ['first "Signed Up".plan', { type: 'first_value', event: 'Signed Up', property: ['plan'] }],
    ['last "Plan Selected".plan', { type: 'last_value', event: 'Plan Selected', property: ['plan'] }],
    [
      'most frequent "Page Viewed".category within 7 days',
      { type: 'most_frequent', event: 'Page Viewed', property: ['category'], window: week },
    ],
    [
      'distinct "Feature Used".feature within 7 days',
      { type: 'distinct', event: 'Feature Used', property: ['feature'], window: week },
    ],
    ['count distinct "Feature Used".feature', { type: 'count_distinct', event: 'Feature Used', property: ['feature'] }],
    ['days since last "Login"', { type: 'days_since_last', event: 'Login' }],
    ['days since first seen', { type: 'days_since_first_seen' }],
    ['weeks with "Login" in last 8 weeks', { type: 'weeks_with', event: 'Login', weeks: 8 }],
  ])('parses %s', (text, ast) => {
    expect(parseTrait(text)).toEqual(ast);
  });

  it('takes the window and the filters in either order and prints the window first', () => {
    const read = readTraitDefinition('count "Order Completed" where total > 100 within 90 days');
    expect(read).toMatchObject({ ok: true, text: 'count "Order Completed" within 90 days where total > 100' });
  });

  it.each([
    ['count Login', 'line 1, col 7: expected "distinct" or an event name in double quotes'],
    ['sum "Order Completed"', 'line 1, col 5: expected an event name and a property'],
    ['count "Login"\n  within 7 potatoes', 'line 2, col 12: expected a unit'],
    ['weeks with "Login" in last 0 weeks', 'line 1, col 28: a number of weeks must be between 1 and 520'],
    ['count ""', 'line 1, col 7: an event name cannot be empty'],
    ['count "Login" and count "Logout"', 'line 1, col 15: expected'],
  ])('points at the mistake in %j', (text, message) => {
    const read = readTraitDefinition(text);
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.errors[0]?.message).toContain(message);
  });

  it('checks JSON definitions field by field', () => {
    expect(validateTraitAst({ type: 'aggregate', fn: 'median', event: 'A', property: ['x'] })).toMatchObject({
      ok: false,
      errors: [{ path: 'definition.fn', message: expect.stringContaining('must be one of') }],
    });
    expect(validateTraitAst({ type: 'weeks_with', event: 'A', weeks: 0, extra: 1 })).toMatchObject({ ok: false });
    expect(validateTraitAst([])).toMatchObject({ ok: false, errors: [{ path: 'definition' }] });
  });

  it('parses what it prints, for every valid definition', () => {
    const pools = { ...anyValuePools, properties: anyValuePools.paths };
    fc.assert(
      fc.property(traitArbitrary(pools), (ast) => {
        const checked = validateTraitAst(JSON.parse(JSON.stringify(ast)));
        expect(checked.ok).toBe(true);
        expect(parseTrait(printTrait(ast))).toEqual(ast);
      }),
      { numRuns: 500 },
    );
  });
});
