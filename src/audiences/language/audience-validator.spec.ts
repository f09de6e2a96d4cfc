import { referencedAudienceKeys } from './audience-ast';
import { readAudienceDefinition } from './audience-definition';
import { parseAudience } from './audience-parser';
import { validateAudienceAst } from './audience-validator';

describe('validateAudienceAst', () => {
  it('accepts a valid definition and returns a clean copy', () => {
    const json: unknown = JSON.parse(
      JSON.stringify(parseAudience('performed "Order Completed" at least 3 times within 90 days where total > 100')),
    );
    expect(validateAudienceAst(json)).toEqual({ ok: true, ast: json });
  });

  it.each<[unknown, { path: string; message: string }[]]>([
    [null, [{ path: 'definition', message: 'must be an object' }]],
    [
      { type: 'performd', event: 'x' },
      [{ path: 'definition.type', message: expect.stringContaining('must be one of "performed"') as string }],
    ],
    [
      {
        type: 'and',
        conditions: [
          { type: 'inactive', duration: { amount: 30, unit: 'days' } },
          { type: 'performed', event: 'A', count: { op: 'at_least', value: -1 } },
        ],
      },
      [{ path: 'definition.conditions[1].count.value', message: 'must be between 0 and 1000000' }],
    ],
    [
      {
        type: 'or',
        conditions: [
          { type: 'trait', path: ['plan'], op: 'lt', value: true },
          { type: 'performed', event: '', where: [] },
          { type: 'in_audience', audience: 'x', extra: 1 },
        ],
      },
      [
        { path: 'definition.conditions[0].value', message: 'cannot be a boolean with lt' },
        { path: 'definition.conditions[1].event', message: 'must not be empty' },
        { path: 'definition.conditions[2].extra', message: 'is not a known field (expected one of type, audience)' },
      ],
    ],
    [
      { type: 'first_seen', window: { kind: 'between', from: '2026-02-30', to: '2026-03-01' } },
      [{ path: 'definition.window.from', message: expect.stringContaining('must be a date') as string }],
    ],
    [
      { type: 'first_seen', window: { kind: 'between', from: '2026-03-01', to: '2026-03-01T00:00:00Z' } },
      [{ path: 'definition.window.to', message: 'must be after from' }],
    ],
    [
      { type: 'sequence', steps: [{ event: 'A' }] },
      [{ path: 'definition.steps', message: 'must have at least 2 steps, or 1 step and notFollowedBy' }],
    ],
    [
      { type: 'performed', event: 'A', where: [{ path: ['a'], op: 'eq', value: 'x\u0000' }] },
      [{ path: 'definition.where[0].value', message: 'must not contain the NUL character' }],
    ],
    [
      { type: 'inactive', duration: { amount: 1.5, unit: 'fortnights' } },
      [{ path: 'definition.duration.unit', message: 'must be one of "minutes", "hours", "days", "weeks"' }],
    ],
  ])('reports %j', (json, errors) => {
    expect(validateAudienceAst(json)).toEqual({ ok: false, errors });
  });

  it('names the field the definition came in', () => {
    expect(validateAudienceAst({ type: 'not' }, 'body.definition')).toEqual({
      ok: false,
      errors: [{ path: 'body.definition.condition', message: 'must be an object' }],
    });
  });
});

describe('referencedAudienceKeys', () => {
  it('lists each referenced audience once, in order', () => {
    const ast = parseAudience('in audience "b" or (not in audience "a" and in audience "b") or trait x exists');
    expect(referencedAudienceKeys(ast)).toEqual(['b', 'a']);
  });
});

describe('readAudienceDefinition', () => {
  it('reads text and JSON to the same AST and canonical text', () => {
    const fromText = readAudienceDefinition('NEVER performed "Tutorial Viewed" AND inactive 30 days');
    expect(fromText).toEqual({
      ok: true,
      ast: parseAudience('never performed "Tutorial Viewed" and inactive 30 days'),
      text: 'never performed "Tutorial Viewed" and inactive 30 days',
    });
    expect(readAudienceDefinition(fromText.ok ? JSON.parse(JSON.stringify(fromText.ast)) : null)).toEqual(fromText);
  });

  it('reports text errors with their position under the field name', () => {
    expect(readAudienceDefinition('inactive days', 'body.definition')).toEqual({
      ok: false,
      errors: [{ path: 'body.definition', message: 'line 1, col 10: expected a whole number' }],
    });
  });
});
