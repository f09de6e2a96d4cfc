/**
 * fast-check generators of valid computed trait ASTs, for the round-trip test and the
 * compiler/evaluator differential test. Windows and filters come from the audience generators.
 */
import fc from 'fast-check';

import { AccountTraitAst, MemberEventsTrait } from '../../src/traits/language/account-trait-ast';
import { AGGREGATE_FUNCTIONS, TraitAst } from '../../src/traits/language/trait-ast';
import { AstPools, sharedArbitraries } from './audience-arbitrary';

export interface TraitPools extends AstPools {
  /** Property paths that aggregates and value picks read. */
  properties: fc.Arbitrary<string[]>;
}

export function traitArbitrary(pools: TraitPools): fc.Arbitrary<TraitAst> {
  const { where, timeWindow } = sharedArbitraries(pools);
  const scoped = { event: pools.events, window: timeWindow, where };
  const scopedKeys = { requiredKeys: ['type', 'event'] as ('type' | 'event')[] };
  return fc.oneof(
    fc.record({ type: fc.constant('count' as const), ...scoped }, scopedKeys),
    fc.record(
      {
        type: fc.constant('aggregate' as const),
        fn: fc.constantFrom(...AGGREGATE_FUNCTIONS),
        property: pools.properties,
        ...scoped,
      },
      { requiredKeys: ['type', 'fn', 'property', 'event'] },
    ),
    fc.record(
      {
        type: fc.constantFrom(
          'first_value' as const,
          'last_value' as const,
          'most_frequent' as const,
          'distinct' as const,
          'count_distinct' as const,
        ),
        property: pools.properties,
        ...scoped,
      },
      { requiredKeys: ['type', 'property', 'event'] },
    ),
    fc.record(
      { type: fc.constant('days_since_last' as const), event: pools.events, where },
      { requiredKeys: ['type', 'event'] },
    ),
    fc.constant({ type: 'days_since_first_seen' as const }),
    fc.record(
      { type: fc.constant('weeks_with' as const), event: pools.events, weeks: fc.integer({ min: 1, max: 10 }), where },
      { requiredKeys: ['type', 'event', 'weeks'] },
    ),
  );
}

/** Valid account trait ASTs; `of_members` names one of `traitKeys`. */
export function accountTraitArbitrary(
  pools: TraitPools,
  traitKeys: fc.Arbitrary<string> = fc.constant('logins_7d'),
): fc.Arbitrary<AccountTraitAst> {
  const { timeWindow } = sharedArbitraries(pools);
  const memberEvents = traitArbitrary(pools).filter(
    (ast): ast is MemberEventsTrait => ast.type !== 'days_since_first_seen',
  );
  return fc.oneof(
    fc.constant({ type: 'members' as const }),
    fc.record({ type: fc.constant('active_members' as const), window: timeWindow }),
    fc.record({ type: fc.constant('by_members' as const), of: memberEvents }),
    fc.record({
      type: fc.constant('of_members' as const),
      fn: fc.constantFrom(...AGGREGATE_FUNCTIONS),
      trait: traitKeys,
    }),
    fc.constant({ type: 'days_since_created' as const }),
  );
}
