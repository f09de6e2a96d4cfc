/**
 * The meaning of an account definition in plain TypeScript over in-memory data: the specification
 * the account compiler (src/audiences/language/compiler/account-conditions.ts) is tested against.
 * Member conditions are profile conditions, evaluated by the profile reference evaluator.
 */
import {
  assertUnreachable,
  AudienceAst,
  AudienceCondition,
  CountClause,
  TimeWindow,
} from '../../src/audiences/language/audience-ast';
import { dateLiteralMillis, jsonAtPath, minusDuration } from '../../src/audiences/language/audience-values';
import { evaluateAudience, EvaluatorContext, EvaluatorData, valueTestHolds } from './reference-evaluator';

export interface EvaluatorAccount {
  /** The group row's id (what audience_members holds for an account). */
  id: string;
  traits: Record<string, unknown>;
  createdAt: Date;
  /** Profile ids with a membership; those not among the live profiles are not members. */
  memberIds: readonly string[];
}

export interface AccountEvaluatorData extends EvaluatorData {
  accounts: readonly EvaluatorAccount[];
  /** Current members of account audiences by key (group ids). */
  accountMemberships: ReadonlyMap<string, ReadonlySet<string>>;
}

/** The ids of the accounts that match, in the order given. */
export function evaluateAccountAudience(ast: AudienceAst, data: AccountEvaluatorData, ctx: EvaluatorContext): string[] {
  const live = new Set(data.profiles.map((p) => p.id));
  const memberMatches = new Map<AudienceCondition, ReadonlySet<string>>();
  const matchingProfiles = (condition: AudienceCondition): ReadonlySet<string> => {
    let set = memberMatches.get(condition);
    if (!set) {
      set = new Set(evaluateAudience(condition, data, ctx));
      memberMatches.set(condition, set);
    }
    return set;
  };
  const holds = (account: EvaluatorAccount, node: AudienceCondition): boolean => {
    const members = [...new Set(account.memberIds)].filter((id) => live.has(id));
    switch (node.type) {
      case 'trait':
        return valueTestHolds(jsonAtPath(account.traits, node.path), node, ctx.now);
      case 'created':
        return inWindow(account.createdAt.getTime(), node.window, ctx.now);
      case 'member_count':
        return countHolds(members.length, node);
      case 'members': {
        const matching = matchingProfiles(node.condition);
        switch (node.quantifier) {
          case 'any':
            return members.some((id) => matching.has(id));
          case 'no':
            return !members.some((id) => matching.has(id));
          case 'all':
            return members.every((id) => matching.has(id));
          default:
            return assertUnreachable(node.quantifier);
        }
      }
      case 'in_audience':
        return data.accountMemberships.get(node.audience)?.has(account.id) ?? false;
      case 'computed':
        // An account-level computed trait or score, kept under the account's id (no value fails every test).
        return valueTestHolds(data.computed?.get(node.trait)?.get(account.id), node, ctx.now);
      case 'and':
        return node.conditions.every((c) => holds(account, c));
      case 'or':
        return node.conditions.some((c) => holds(account, c));
      case 'not':
        return !holds(account, node.condition);
      case 'performed':
      case 'not_performed':
      case 'first_performed':
      case 'last_performed':
      case 'active':
      case 'inactive':
      case 'first_seen':
      case 'last_seen':
      case 'sequence':
        throw new Error(`${node.type} is a profile condition`);
      default:
        return assertUnreachable(node);
    }
  };
  return data.accounts.filter((account) => holds(account, ast)).map((account) => account.id);
}

function countHolds(count: number, clause: CountClause): boolean {
  switch (clause.op) {
    case 'at_least':
      return count >= clause.value;
    case 'at_most':
      return count <= clause.value;
    case 'exactly':
      return count === clause.value;
    default:
      return assertUnreachable(clause.op);
  }
}

/** GRAMMAR.md's windows: within d = (now - d, now], before d = (-inf, now - d], between = [a, b). */
function inWindow(at: number, window: TimeWindow, now: Date): boolean {
  switch (window.kind) {
    case 'within':
      return at > minusDuration(now, window.duration).getTime() && at <= now.getTime();
    case 'before':
      return at <= minusDuration(now, window.duration).getTime();
    case 'between':
      return at >= dateLiteralMillis({ date: window.from }) && at < dateLiteralMillis({ date: window.to });
    default:
      return assertUnreachable(window);
  }
}
