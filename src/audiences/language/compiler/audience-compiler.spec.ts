import fc from 'fast-check';

import { anyValuePools, audienceArbitrary } from '../../../../test/oracles/audience-arbitrary';
import { AudienceAst } from '../audience-ast';
import { parseAudience } from '../audience-parser';
import { compileAudiencePredicate } from './audience-compiler';

const ctx = {
  workspaceId: '7d4a3f8e-1c2b-4e5f-9a6b-0c1d2e3f4a5b',
  now: new Date('2026-11-22T12:00:00.000Z'),
  eventsSince: new Date('2026-11-01T00:00:00.000Z'),
};
const EVIL = "'; DROP TABLE x; --";

describe('compileAudiencePredicate', () => {
  it('binds every value a definition carries and splices none', () => {
    const ast: AudienceAst = {
      type: 'or',
      conditions: [
        {
          type: 'performed',
          event: EVIL,
          count: { op: 'at_least', value: 3 },
          where: [{ path: [EVIL, 'x'], op: 'eq', value: EVIL }],
        },
        { type: 'trait', path: [EVIL], op: 'in', values: [EVIL, 7] },
        { type: 'trait', path: ['plan'], op: 'contains', value: EVIL },
        { type: 'trait', path: ['plan'], op: 'lt', value: EVIL },
        {
          type: 'sequence',
          steps: [{ event: EVIL }],
          notFollowedBy: { event: EVIL, where: [{ path: ['a'], op: 'starts_with', value: EVIL }] },
        },
        { type: 'in_audience', audience: EVIL },
      ],
    };
    const sql = compileAudiencePredicate(ast, ctx);
    expect(sql.sql).not.toContain('DROP');
    expect(sql.sql).not.toContain(ctx.workspaceId);
    expect(sql.sql).not.toContain('2026');
    const values = JSON.stringify(sql.values);
    expect(values).toContain(JSON.stringify(EVIL));
    expect(values).toContain(JSON.stringify([EVIL, 'x']));
    expect(sql.values).toContain('2026-11-22T12:00:00.000Z');
  });

  it('keeps every generated value out of the SQL text', () => {
    // Every name and value carries a marker; the text may only hold what the compiler wrote itself.
    const marked = (a: fc.Arbitrary<string>): fc.Arbitrary<string> => a.map((s) => `⟦${s}`);
    const pools = {
      ...anyValuePools,
      events: marked(anyValuePools.events),
      strings: marked(anyValuePools.strings),
      audiences: marked(anyValuePools.audiences),
      paths: anyValuePools.paths.map((p) => p.map((s) => `⟦${s}`)),
      numbers: anyValuePools.numbers.map((n) => n + 0.123456789),
    };
    fc.assert(
      fc.property(audienceArbitrary(pools), (ast) => {
        const sql = compileAudiencePredicate(ast, ctx);
        expect(sql.sql).not.toContain('⟦');
        expect(sql.sql).not.toMatch(/\d\.\d/);
        expect(sql.sql).not.toMatch(/\d{4}-\d{2}/);
      }),
      { numRuns: 300 },
    );
  });

  it('compiles every condition to a predicate over p that is never NULL', () => {
    // Value tests are wrapped in IS TRUE so that NOT over a missing trait reads as "does not match".
    const sql = compileAudiencePredicate(parseAudience('not trait plan = "Pro"'), ctx);
    expect(sql.sql).toBe('NOT (((p.traits #> ?::text[]) = to_jsonb(?::text)) IS TRUE)');
  });

  it('leaves eventsSince out of the SQL when historical data is included', () => {
    const withHistory = compileAudiencePredicate(parseAudience('active within 7 days'), { ...ctx, eventsSince: null });
    const withoutHistory = compileAudiencePredicate(parseAudience('active within 7 days'), ctx);
    expect(withHistory.values).not.toContain('2026-11-01T00:00:00.000Z');
    expect(withoutHistory.values).toContain('2026-11-01T00:00:00.000Z');
  });
});
