/**
 * fast-check generators of valid audience ASTs, for the round-trip property test and the
 * compiler/evaluator differential test. Test-only code (imports fast-check, a dev dependency).
 */
import fc from 'fast-check';

import {
  AudienceAst,
  AudienceCondition,
  COUNT_OPS,
  CountClause,
  Duration,
  DURATION_UNITS,
  Literal,
  PropertyFilter,
  SequenceStep,
  TimeWindow,
  ValueTest,
} from '../../src/audiences/language/audience-ast';
import { parseInstant } from '../../src/audiences/language/audience-values';

/** Where generated names and values come from; the differential test points these at its data. */
export interface AstPools {
  events: fc.Arbitrary<string>;
  paths: fc.Arbitrary<string[]>;
  strings: fc.Arbitrary<string>;
  numbers: fc.Arbitrary<number>;
  /** Date literals, in the literal syntax (see DATE_LITERAL_PATTERN). */
  dates: fc.Arbitrary<string>;
  durations: fc.Arbitrary<Duration>;
  counts: fc.Arbitrary<number>;
  audiences: fc.Arbitrary<string>;
  /** Keys of computed traits; without it, no `computed` conditions are generated. */
  computed?: fc.Arbitrary<string>;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Any valid date literal, in every shape the syntax allows. */
export const dateLiteralArbitrary: fc.Arbitrary<string> = fc
  .record({
    year: fc.integer({ min: 1970, max: 2100 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 28 }),
    time: fc.option(
      fc.record({
        hour: fc.integer({ min: 0, max: 23 }),
        minute: fc.integer({ min: 0, max: 59 }),
        second: fc.option(fc.integer({ min: 0, max: 59 })),
        millis: fc.option(fc.constantFrom('.5', '.25', '.125', '.000')),
        zone: fc.option(fc.constantFrom('Z', '+05:30', '-08:00', '+00:00', '+14:00')),
      }),
    ),
  })
  .map(({ year, month, day, time }) => {
    const date = `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
    if (!time) return date;
    const seconds = time.second === null ? '' : `:${pad(time.second)}${time.millis ?? ''}`;
    return `${date}T${pad(time.hour)}:${pad(time.minute)}${seconds}${time.zone ?? ''}`;
  });

const weirdString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('"', '\\', 'say "hi" \\o/', 'Ünïcödé ✓ 🎉', 'line\nbreak\ttab', "'; DROP TABLE x; --", 'and', 'in'),
);
const noNul = (s: string): boolean => !s.includes('\u0000');

/** Pools that cover the whole value space, for syntax-level tests. */
export const anyValuePools: AstPools = {
  events: weirdString.filter((s) => s.length > 0 && noNul(s)),
  paths: fc.array(weirdString.filter(noNul), { minLength: 1, maxLength: 3 }),
  strings: weirdString.filter(noNul),
  numbers: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
  dates: dateLiteralArbitrary,
  durations: fc.record({ amount: fc.integer({ min: 1, max: 500 }), unit: fc.constantFrom(...DURATION_UNITS) }),
  counts: fc.integer({ min: 0, max: 1000 }),
  audiences: weirdString.filter((s) => s.length > 0 && noNul(s)),
  computed: weirdString.filter((s) => s.length > 0 && noNul(s)),
};

/** The parts of definitions that other languages of the family share: value tests, filters, windows. */
export function sharedArbitraries(pools: AstPools) {
  const literal: fc.Arbitrary<Literal> = fc.oneof(
    pools.strings,
    pools.numbers,
    fc.boolean(),
    pools.dates.map((date) => ({ date })),
  );
  const ordered: fc.Arbitrary<string | number | { date: string }> = fc.oneof(
    pools.strings,
    pools.numbers,
    pools.dates.map((date) => ({ date })),
  );
  const valueTest: fc.Arbitrary<ValueTest> = fc.oneof(
    fc.record({ op: fc.constantFrom('eq' as const, 'neq' as const), value: literal }),
    fc.record({ op: fc.constantFrom('lt' as const, 'lte' as const, 'gt' as const, 'gte' as const), value: ordered }),
    fc.record({ op: fc.constantFrom('contains' as const, 'starts_with' as const), value: pools.strings }),
    fc.constant({ op: 'exists' as const }),
    fc.record({ op: fc.constant('in' as const), values: fc.array(literal, { maxLength: 4 }) }),
    fc.record({ op: fc.constantFrom('within' as const, 'before' as const), duration: pools.durations }),
  );
  const filter: fc.Arbitrary<PropertyFilter> = fc
    .tuple(pools.paths, valueTest)
    .map(([path, test]) => ({ path, ...test }));
  const where = fc.array(filter, { minLength: 1, maxLength: 3 });
  const between = fc
    .tuple(pools.dates, pools.dates)
    .filter(([a, b]) => parseInstant(a) !== parseInstant(b))
    .map(([a, b]): TimeWindow => {
      const [from, to] = (parseInstant(a) ?? 0) < (parseInstant(b) ?? 0) ? [a, b] : [b, a];
      return { kind: 'between', from, to };
    });
  const timeWindow: fc.Arbitrary<TimeWindow> = fc.oneof(
    fc.record({ kind: fc.constant('within' as const), duration: pools.durations }),
    fc.record({ kind: fc.constant('before' as const), duration: pools.durations }),
    between,
  );
  return { valueTest, where, timeWindow };
}

export function audienceArbitrary(pools: AstPools, maxDepth = 3): fc.Arbitrary<AudienceAst> {
  const { valueTest, where, timeWindow } = sharedArbitraries(pools);
  const count: fc.Arbitrary<CountClause> = fc.record({ op: fc.constantFrom(...COUNT_OPS), value: pools.counts });
  const step: fc.Arbitrary<SequenceStep> = fc.record({ event: pools.events, where }, { requiredKeys: ['event'] });

  const leaf: fc.Arbitrary<AudienceCondition> = fc.oneof(
    fc.record(
      { type: fc.constant('performed' as const), event: pools.events, count, window: timeWindow, where },
      { requiredKeys: ['type', 'event'] },
    ),
    fc.record(
      { type: fc.constant('not_performed' as const), event: pools.events, window: timeWindow, where },
      { requiredKeys: ['type', 'event'] },
    ),
    fc.record(
      {
        type: fc.constantFrom('first_performed' as const, 'last_performed' as const),
        event: pools.events,
        window: timeWindow,
        where,
      },
      { requiredKeys: ['type', 'event', 'window'] },
    ),
    fc.record({
      type: fc.constantFrom('active' as const, 'first_seen' as const, 'last_seen' as const),
      window: timeWindow,
    }),
    fc.record({ type: fc.constant('inactive' as const), duration: pools.durations }),
    fc.tuple(pools.paths, valueTest).map(([path, test]): AudienceCondition => ({ type: 'trait', path, ...test })),
    fc
      .record(
        {
          steps: fc.array(step, { minLength: 1, maxLength: 3 }),
          notFollowedBy: step,
          conversionWindow: pools.durations,
        },
        { requiredKeys: ['steps'] },
      )
      .filter((s) => s.steps.length >= 2 || s.notFollowedBy !== undefined)
      .map((s): AudienceCondition => ({ type: 'sequence', ...s })),
    fc.record({ type: fc.constant('in_audience' as const), audience: pools.audiences }),
    ...(pools.computed
      ? [
          fc
            .tuple(pools.computed, valueTest)
            .map(([trait, test]): AudienceCondition => ({ type: 'computed', trait, ...test })),
        ]
      : []),
  );

  const { condition } = fc.letrec<{ condition: AudienceCondition }>((tie) => ({
    condition: fc.oneof(
      { maxDepth, depthIdentifier: 'audience' },
      leaf,
      fc.record({
        type: fc.constantFrom('and' as const, 'or' as const),
        conditions: fc.array(tie('condition'), { minLength: 2, maxLength: 3 }),
      }),
      fc.record({ type: fc.constant('not' as const), condition: tie('condition') }),
    ),
  }));
  return condition;
}
