import fc from 'fast-check';

import { anyValuePools, audienceArbitrary } from '../../../test/oracles/audience-arbitrary';
import { AudienceAst, AudienceCondition, PropertyFilter } from './audience-ast';
import { AudienceParseError, parseAudience, parseFilters, parsePropertyPath } from './audience-parser';
import { printAudience } from './audience-printer';
import { validateAudienceAst } from './audience-validator';

function parseError(text: string): AudienceParseError {
  try {
    parseAudience(text);
  } catch (error) {
    if (error instanceof AudienceParseError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} not to parse`);
}

describe('parseAudience', () => {
  it('reads the sentence from the design', () => {
    expect(parseAudience('never performed "Tutorial Viewed" and inactive 30 days')).toEqual({
      type: 'and',
      conditions: [
        { type: 'not_performed', event: 'Tutorial Viewed' },
        { type: 'inactive', duration: { amount: 30, unit: 'days' } },
      ],
    });
  });

  it('reads counts, windows and filters in that order', () => {
    expect(parseAudience('performed "Order Completed" at least 3 times within 90 days where total > 100')).toEqual({
      type: 'performed',
      event: 'Order Completed',
      count: { op: 'at_least', value: 3 },
      window: { kind: 'within', duration: { amount: 90, unit: 'days' } },
      where: [{ path: ['total'], op: 'gt', value: 100 }],
    });
  });

  it.each<[string, AudienceAst]>([
    [
      'performed "Product Added" then not performed "Order Completed" within 1 hour',
      {
        type: 'sequence',
        steps: [{ event: 'Product Added' }],
        notFollowedBy: { event: 'Order Completed' },
        conversionWindow: { amount: 1, unit: 'hours' },
      },
    ],
    ['in audience "trial-users"', { type: 'in_audience', audience: 'trial-users' }],
    [
      'first seen between 2026-01-01 and 2026-02-01',
      { type: 'first_seen', window: { kind: 'between', from: '2026-01-01', to: '2026-02-01' } },
    ],
    [
      'last performed "Login" before 14 days ago',
      { type: 'last_performed', event: 'Login', window: { kind: 'before', duration: { amount: 14, unit: 'days' } } },
    ],
    ['active within 7 days', { type: 'active', window: { kind: 'within', duration: { amount: 7, unit: 'days' } } }],
    ['trait "Lifetime Value" >= 99.5', { type: 'trait', path: ['Lifetime Value'], op: 'gte', value: 99.5 }],
    [
      'trait address.city in ["Paris", "Zürich"]',
      { type: 'trait', path: ['address', 'city'], op: 'in', values: ['Paris', 'Zürich'] },
    ],
    [
      'trait signed_up_at within 2 weeks',
      { type: 'trait', path: ['signed_up_at'], op: 'within', duration: { amount: 2, unit: 'weeks' } },
    ],
    [
      'trait trial_ends < 2026-03-01T00:00:00+01:00',
      { type: 'trait', path: ['trial_ends'], op: 'lt', value: { date: '2026-03-01T00:00:00+01:00' } },
    ],
    [
      'performed "Signed Up" where (plan = "Pro Annual" and coupon exists and beta = true)',
      {
        type: 'performed',
        event: 'Signed Up',
        where: [
          { path: ['plan'], op: 'eq', value: 'Pro Annual' },
          { path: ['coupon'], op: 'exists' },
          { path: ['beta'], op: 'eq', value: true },
        ],
      },
    ],
  ])('reads %s', (text, expected) => {
    expect(parseAudience(text)).toEqual(expected);
    expect(printAudience(expected)).toBe(text);
  });

  it('gives not priority over and, and and over or', () => {
    expect(parseAudience('not in audience "a" or in audience "b" and in audience "c"')).toEqual({
      type: 'or',
      conditions: [
        { type: 'not', condition: { type: 'in_audience', audience: 'a' } },
        {
          type: 'and',
          conditions: [
            { type: 'in_audience', audience: 'b' },
            { type: 'in_audience', audience: 'c' },
          ],
        },
      ],
    });
  });

  it('reads keywords in any case, strings with escapes and any Unicode', () => {
    expect(parseAudience('NEVER Performed "say \\"hi\\" \\\\ 🎉" AND Inactive 1 Day')).toEqual({
      type: 'and',
      conditions: [
        { type: 'not_performed', event: 'say "hi" \\ 🎉' },
        { type: 'inactive', duration: { amount: 1, unit: 'days' } },
      ],
    });
  });

  it('reads `not performed` as the boolean not of performed', () => {
    expect(parseAudience('not performed "A" within 7 days')).toEqual({
      type: 'not',
      condition: { type: 'performed', event: 'A', window: { kind: 'within', duration: { amount: 7, unit: 'days' } } },
    });
  });

  it.each([
    ['never performed "Tutorial Viewed" and inactive days', 1, 48, 'expected a whole number'],
    ['never performed "Tutorial Viewed" and inactive 30 dayz', 1, 51, 'expected a unit: minutes, hours, days or weeks'],
    ['performed Order', 1, 11, 'expected an event name in double quotes'],
    ['performed "A" at least 3', 1, 25, 'expected the word "times"'],
    [
      'trait plan',
      1,
      11,
      'expected "!=", "<=", ">=", "=", "<", ">", "contains", "starts with", "exists", "in", "within" or "before"',
    ],
    ['trait plan =', 1, 13, 'expected a value: a "string", a number, true, false or a date'],
    ['trait plan < true', 1, 14, 'expected a "string", a number or a date'],
    ['performed "A" and\n  (trait', 2, 9, 'expected a property name'],
    ['', 1, 1, 'expected a condition'],
    ['performed "A" where (a = 1 or b = 2)', 1, 28, 'expected "and" or ")"'],
    [
      'performed "A" within 7 days then performed "B"',
      1,
      29,
      'expected "where", "and", "or" or the end of the definition',
    ],
    ['trait d = 2026-02-30', 1, 11, '2026-02-30 is not a valid date'],
    [
      'first seen between 2026-02-01 and 2026-01-01',
      1,
      35,
      'the end of the window (2026-01-01) must be after its start (2026-02-01)',
    ],
    ['inactive 0 days', 1, 10, 'a number of days must be between 1 and 36600'],
    [
      'performed "A" then not performed "B" then performed "C"',
      1,
      15,
      'only the last step of a sequence can be `not performed`',
    ],
    ['performed ""', 1, 11, 'an event name cannot be empty'],
    ['performed "unterminated', 1, 11, 'expected an event name in double quotes'],
  ])('reports %j at line %i, col %i', (text, line, column, reason) => {
    const error = parseError(text);
    expect({ line: error.line, column: error.column, reason: error.reason }).toEqual({ line, column, reason });
    expect(error.message).toBe(`line ${line}, col ${column}: ${reason}`);
  });

  it('explains a second filter written without parentheses', () => {
    const error = parseError('performed "A" where plan = "Pro" and value > 100');
    expect(error.column).toBe(38);
    expect(error.reason).toContain('where (plan = "Pro" and total > 100)');
    expect(error.reason).toContain('trait value > 100');
  });

  it('counts columns in characters, not UTF-16 units', () => {
    expect(parseError('trait "🎉🎉" =').column).toBe(13);
  });

  it('rejects nesting beyond the limit with a parse error, not a crash', () => {
    const deep = `${'('.repeat(40)}active within 1 day${')'.repeat(40)}`;
    expect(parseAudience(deep)).toEqual({
      type: 'active',
      window: { kind: 'within', duration: { amount: 1, unit: 'days' } },
    });
    const tooDeep = `${'not '.repeat(40)}active within 1 day`;
    expect(parseError(tooDeep).reason).toMatch(/deeper than 32 levels/);
    expect(parseError(`${'('.repeat(20_000)}active within 1 day${')'.repeat(20_000)}`)).toBeInstanceOf(
      AudienceParseError,
    );
  });
});

/** Every `where` list of a definition, nested ones included. */
function whereLists(node: AudienceCondition): PropertyFilter[][] {
  switch (node.type) {
    case 'and':
    case 'or':
      return node.conditions.flatMap(whereLists);
    case 'not':
      return whereLists(node.condition);
    case 'sequence':
      return [...node.steps, ...(node.notFollowedBy ? [node.notFollowedBy] : [])].flatMap((s) =>
        s.where ? [s.where] : [],
      );
    case 'performed':
    case 'not_performed':
    case 'first_performed':
    case 'last_performed':
      return node.where ? [node.where] : [];
    case 'active':
    case 'inactive':
    case 'first_seen':
    case 'last_seen':
    case 'trait':
    case 'computed':
    case 'in_audience':
    case 'member_count':
    case 'created':
      return [];
    case 'members':
      return whereLists(node.condition);
  }
}

describe('parseFilters (the Filters start rule)', () => {
  it('reads one filter, several joined by and, and the same in parentheses', () => {
    expect(parseFilters('total > 100')).toEqual([{ path: ['total'], op: 'gt', value: 100 }]);
    const several = [
      { path: ['plan'], op: 'eq', value: 'Pro' },
      { path: ['address', 'city'], op: 'exists' },
    ];
    expect(parseFilters('plan = "Pro" and address.city exists')).toEqual(several);
    expect(parseFilters(' ( plan = "Pro"\n and address.city exists ) ')).toEqual(several);
  });

  it('reads every where clause the printer writes', () => {
    fc.assert(
      fc.property(audienceArbitrary(anyValuePools), (generated) => {
        for (const filters of whereLists(structuredClone(generated))) {
          const printed = printAudience({ type: 'performed', event: 'x', where: filters });
          expect(parseFilters(printed.slice('performed "x" where '.length))).toStrictEqual(filters);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('reports positions in the filter text itself, and what may end a filter', () => {
    const error = (text: string) => {
      try {
        parseFilters(text);
      } catch (e) {
        if (e instanceof AudienceParseError) return e.message;
      }
      throw new Error('expected a parse error');
    };
    expect(error('plan = "Pro" and\n  total >')).toBe('line 2, col 10: expected a "string", a number or a date');
    expect(error('plan = "Pro" plan')).toBe('line 1, col 14: expected "and" or the end of the filter');
    // A filter tests a property: `trait` reads as a property name, followed by a test.
    expect(error('trait plan = "Pro"')).toMatch(/^line 1, col 7: expected "!=", "<=", /);
  });
});

describe('parsePropertyPath', () => {
  it('reads names, dotted paths and quoted names, and nothing else', () => {
    expect(parsePropertyPath('address.city')).toEqual(['address', 'city']);
    expect(parsePropertyPath(' "Lifetime Value" ')).toEqual(['Lifetime Value']);
    expect(() => parsePropertyPath('a b')).toThrow('line 1, col 3: expected the end of the property path');
  });
});

describe('printAudience', () => {
  it('parses back to the same AST for every valid AST', () => {
    fc.assert(
      fc.property(audienceArbitrary(anyValuePools), (generated) => {
        // fast-check builds records without a prototype; a plain copy lets toStrictEqual compare them.
        const ast = structuredClone(generated);
        expect(validateAudienceAst(ast)).toEqual({ ok: true, ast });
        expect(parseAudience(printAudience(ast))).toStrictEqual(ast);
      }),
      { numRuns: 300 },
    );
  });

  it('parenthesises nested and/or and the operands of not', () => {
    const a = { type: 'in_audience', audience: 'a' } as const;
    const b = { type: 'in_audience', audience: 'b' } as const;
    const ast: AudienceAst = {
      type: 'and',
      conditions: [
        { type: 'and', conditions: [a, b] },
        { type: 'not', condition: { type: 'or', conditions: [a, b] } },
      ],
    };
    expect(printAudience(ast)).toBe(
      '(in audience "a" and in audience "b") and not (in audience "a" or in audience "b")',
    );
    expect(parseAudience(printAudience(ast))).toEqual(ast);
  });

  it('quotes names that are not plain identifiers and escapes quotes and backslashes', () => {
    expect(printAudience({ type: 'trait', path: ['a b', 'ok', '0', 'x"\\'], op: 'eq', value: -0 })).toBe(
      'trait "a b".ok."0"."x\\"\\\\" = -0',
    );
  });
});
