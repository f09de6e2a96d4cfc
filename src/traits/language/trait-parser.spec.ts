import fc from 'fast-check';

import { anyValuePools } from '../../../test/oracles/audience-arbitrary';
import { accountTraitArbitrary, traitArbitrary } from '../../../test/oracles/trait-arbitrary';
import { printAccountTrait } from './account-trait-printer';
import { readAccountTraitDefinition, readTraitDefinition } from './trait-definition';
import { parseAccountTrait, parseTrait } from './trait-parser';
import { printTrait } from './trait-printer';
import { validateAccountTraitAst, validateTraitAst } from './trait-validator';

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
    ['sum "Order Completed"', 'line 1, col 5: expected "computed" or an event name and a property'],
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

  describe('account level', () => {
    const twoWeeks = { kind: 'within', duration: { amount: 14, unit: 'days' } };
    it.each([
      ['members', { type: 'members' }],
      ['members active within 14 days', { type: 'active_members', window: twoWeeks }],
      [
        'count "Login" by members within 14 days',
        { type: 'by_members', of: { type: 'count', event: 'Login', window: twoWeeks } },
      ],
      [
        'sum "Order Completed".revenue by members where total > 1',
        {
          type: 'by_members',
          of: {
            type: 'aggregate',
            fn: 'sum',
            event: 'Order Completed',
            property: ['revenue'],
            where: [{ path: ['total'], op: 'gt', value: 1 }],
          },
        },
      ],
      ['days since last "Login" by members', { type: 'by_members', of: { type: 'days_since_last', event: 'Login' } }],
      [
        'weeks with "Login" by members in last 4 weeks',
        { type: 'by_members', of: { type: 'weeks_with', event: 'Login', weeks: 4 } },
      ],
      ['max computed logins_7d of members', { type: 'of_members', fn: 'max', trait: 'logins_7d' }],
      ['AVG computed logins_7d of members', { type: 'of_members', fn: 'avg', trait: 'logins_7d' }],
      ['days since created', { type: 'days_since_created' }],
    ])('parses %s', (text, expected) => {
      expect(parseAccountTrait(text)).toEqual(expected);
    });

    it.each([
      // Account forms in a profile definition, and profile forms in an account definition.
      ['count "Login" by members within 14 days', 'profile', 'line 1, col 15: `by members` aggregates over'],
      [
        'members active within 14 days',
        'profile',
        'line 1, col 1: `members active within 14 days` is about an account',
      ],
      ['\n  days since created', 'profile', 'line 2, col 3: `days since created` is about an account'],
      ['count "Login" within 14 days', 'account', 'e.g. `count "Login" by members within 14 days`'],
      ['days since first seen', 'account', 'line 1, col 1: `days since first seen` is about one person'],
      ['max computed logins_7d', 'account', 'line 1, col 23: expected "of"'],
    ])('refuses %j at %s level with its position', (text, level, message) => {
      const read = level === 'account' ? readAccountTraitDefinition(text) : readTraitDefinition(text);
      expect(read.ok).toBe(false);
      if (!read.ok) expect(read.errors[0]?.message).toContain(message);
    });

    it('checks JSON definitions field by field, and their level', () => {
      expect(validateAccountTraitAst({ type: 'count', event: 'Login' })).toMatchObject({
        ok: false,
        errors: [{ path: 'definition.type', message: expect.stringContaining('is about one person') }],
      });
      expect(validateTraitAst({ type: 'members' })).toMatchObject({
        ok: false,
        errors: [{ path: 'definition.type', message: expect.stringContaining('"level": "account"') }],
      });
      expect(validateAccountTraitAst({ type: 'by_members', of: { type: 'days_since_first_seen' } })).toMatchObject({
        ok: false,
        errors: [{ path: 'definition.of.type' }],
      });
      expect(validateAccountTraitAst({ type: 'of_members', fn: 'max', trait: 'Not A Key' })).toMatchObject({
        ok: false,
        errors: [{ path: 'definition.trait' }],
      });
    });

    it('parses what it prints, for every valid definition', () => {
      const pools = { ...anyValuePools, properties: anyValuePools.paths };
      fc.assert(
        fc.property(accountTraitArbitrary(pools), (ast) => {
          const checked = validateAccountTraitAst(JSON.parse(JSON.stringify(ast)));
          expect(checked.ok).toBe(true);
          expect(parseAccountTrait(printAccountTrait(ast))).toEqual(ast);
        }),
        { numRuns: 500 },
      );
    });
  });
});
