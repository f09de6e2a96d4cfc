/**
 * The meaning of an account-level computed trait in plain TypeScript over in-memory data: the
 * specification the account trait compiler (src/traits/language/compiler/account-values.ts) is
 * tested against in test/traits/account-trait-differential.int-spec.ts. A trait `by members` is the
 * profile trait's own evaluator over the members' events taken as one subject's.
 */
import { jsonNumber } from '../../src/audiences/language/audience-values';
import { AccountTraitAst } from '../../src/traits/language/account-trait-ast';
import { EvaluatorAccount } from './account-reference-evaluator';
import { windowHolds } from './reference-evaluator';
import { evaluateTrait, TraitEvaluatorData } from './trait-evaluator';

const DAY_MS = 86_400_000;

export interface AccountTraitEvaluatorData extends TraitEvaluatorData {
  accounts: readonly EvaluatorAccount[];
  /** Stored values of profile-level traits by key, then profile id (for `… computed k of members`). */
  profileValues: ReadonlyMap<string, ReadonlyMap<string, unknown>>;
}

/** Account id → value, for the accounts that have one. */
export function evaluateAccountTrait(
  ast: AccountTraitAst,
  data: AccountTraitEvaluatorData,
  now: Date,
): Map<string, unknown> {
  const live = new Set(data.profiles.map((p) => p.id));
  const membersOf = (account: EvaluatorAccount) => [...new Set(account.memberIds)].filter((id) => live.has(id));
  const values = new Map<string, unknown>();
  if (ast.type === 'by_members') {
    // Each account as one subject whose events are its members' (an event of a member of two
    // accounts is in both), keeping arrival order.
    const subjects = data.accounts.map((account) => ({
      id: account.id,
      traits: {},
      firstSeenAt: account.createdAt,
      lastSeenAt: account.createdAt,
    }));
    const events = data.accounts.flatMap((account) => {
      const members = new Set(membersOf(account));
      return data.events.filter((e) => members.has(e.profileId)).map((e) => ({ ...e, profileId: account.id }));
    });
    return evaluateTrait(ast.of, { profiles: subjects, events }, now);
  }
  for (const account of data.accounts) {
    const members = membersOf(account);
    const value = evaluate(ast, account, members, data, now);
    if (value !== undefined) values.set(account.id, value);
  }
  return values;
}

function evaluate(
  ast: Exclude<AccountTraitAst, { type: 'by_members' }>,
  account: EvaluatorAccount,
  members: readonly string[],
  data: AccountTraitEvaluatorData,
  now: Date,
): unknown {
  switch (ast.type) {
    case 'members':
      return members.length;
    case 'active_members':
      // `active within …` of a profile: an event of any type in the window, as of now.
      return members.filter((id) =>
        data.events.some(
          (e) =>
            e.profileId === id &&
            e.timestamp.getTime() <= now.getTime() &&
            windowHolds(e.timestamp.getTime(), ast.window, now),
        ),
      ).length;
    case 'of_members': {
      const stored = data.profileValues.get(ast.trait) ?? new Map<string, unknown>();
      const numbers = members.map((id) => jsonNumber(stored.get(id))).filter((n): n is number => n !== undefined);
      if (numbers.length === 0) return undefined;
      const sum = numbers.reduce((a, b) => a + b, 0);
      switch (ast.fn) {
        case 'sum':
          return sum;
        case 'avg':
          return sum / numbers.length;
        case 'min':
          return Math.min(...numbers);
        case 'max':
          return Math.max(...numbers);
      }
      return undefined;
    }
    case 'days_since_created':
      return Math.floor((now.getTime() - account.createdAt.getTime()) / DAY_MS);
  }
}
