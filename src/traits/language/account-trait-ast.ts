/**
 * Account-level computed traits: one value per account (a group of `group` calls), aggregated over
 * its members, in the style of trait-ast.ts. Members are the account's live profiles (memberships of
 * profiles not merged away), as in account audiences. docs/computed-traits.md states the meaning of
 * every node; the reference evaluator (test/oracles/account-trait-evaluator.ts) is its executable form.
 */
import type { TimeWindow } from '../../audiences/language/audience-language';
import { AggregateFunction, DaysSinceFirstSeenTrait, TraitAst, TraitValueKind, valueKind } from './trait-ast';

/** `members`: how many members the account has (0 without any). */
export interface MembersTrait {
  type: 'members';
}

/** `members active within 14 days`: how many members had an event of any kind in the window. */
export interface ActiveMembersTrait {
  type: 'active_members';
  window: TimeWindow;
}

/** The profile traits that read events; `days since first seen` has `days since created` instead. */
export type MemberEventsTrait = Exclude<TraitAst, DaysSinceFirstSeenTrait>;

/**
 * `count "Login" by members within 14 days`: a profile trait over the events of all members taken
 * together, as if they were one person's (an event of a member of two accounts counts in both).
 */
export interface ByMembersTrait {
  type: 'by_members';
  of: MemberEventsTrait;
}

/**
 * `max computed logins_7d of members`: `fn` over the members' values of a profile-level computed
 * trait, read as numbers (members without a numeric value are skipped; no value when none has one).
 */
export interface OfMembersTrait {
  type: 'of_members';
  fn: AggregateFunction;
  trait: string;
}

/** `days since created`: whole days since the account's first `group` call. */
export interface DaysSinceCreatedTrait {
  type: 'days_since_created';
}

export type AccountTraitAst =
  MembersTrait | ActiveMembersTrait | ByMembersTrait | OfMembersTrait | DaysSinceCreatedTrait;

export const ACCOUNT_TRAIT_TYPES = [
  'members',
  'active_members',
  'by_members',
  'of_members',
  'days_since_created',
] as const satisfies readonly AccountTraitAst['type'][];

export function accountValueKind(ast: AccountTraitAst): TraitValueKind {
  return ast.type === 'by_members' ? valueKind(ast.of) : 'number';
}

/** The profile-level traits an account trait reads (`max computed logins_7d of members`). */
export function accountTraitReferences(ast: AccountTraitAst): string[] {
  return ast.type === 'of_members' ? [ast.trait] : [];
}
