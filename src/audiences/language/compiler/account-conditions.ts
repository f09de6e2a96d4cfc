import { Prisma } from '../../../generated/prisma/client';
import {
  assertUnreachable,
  AudienceAst,
  AudienceCondition,
  CountOp,
  InAudienceCondition,
  MembersCondition,
} from '../audience-ast';
import { compileAudiencePredicate } from './audience-compiler';
import { CompileContext, windowTest } from './compile-context';
import { compileComputed } from './computed-conditions';
import { compileValueTest } from './value-tests';

/**
 * Account definitions: one boolean SQL predicate over the group row aliased `g` (a group of
 * `group` calls), to be used as `SELECT … FROM groups g WHERE g.workspace_id = $ws AND
 * <predicate>`. As for profiles, every part is TRUE or FALSE, never NULL, and every value is bound.
 *
 * - `trait` reads the account's own traits (`g.traits`, merged from its `group` calls).
 * - `created` reads `g.created_at`, the timestamp of the account's first `group` call.
 * - Members are the account's live profiles: group_memberships joined to profiles not merged away
 *   (a merge moves memberships to the survivor). A member condition is a profile condition compiled
 *   by the profile compiler over `p`, correlated with the account through the
 *   group_memberships(group_id, profile_id) primary key: `any` is EXISTS, `no` NOT EXISTS, `all`
 *   NOT EXISTS of a member for whom it does not hold (so it holds for an account without members).
 * - `members at least n` counts the same live members.
 * - `in audience "k"` is the account's current membership of the account audience `k`.
 * - `computed k …` reads the account's value of the account-level computed trait or score `k`.
 */
export function compileAccountPredicate(ast: AudienceAst, ctx: CompileContext): Prisma.Sql {
  return compileAccountCondition(ast, ctx);
}

function compileAccountCondition(node: AudienceCondition, ctx: CompileContext): Prisma.Sql {
  switch (node.type) {
    case 'trait':
      return compileValueTest(Prisma.sql`g.traits`, node.path, node, ctx);
    case 'created':
      return Prisma.sql`(${windowTest(Prisma.sql`g.created_at`, node.window, ctx, false)})`;
    case 'members':
      return compileMembers(node, ctx);
    case 'member_count':
      return Prisma.sql`((SELECT count(*) ${liveMembers(ctx)}) ${Prisma.raw(COUNT_OPERATORS[node.op])} ${node.value}::int)`;
    case 'in_audience':
      return compileAccountInAudience(node, ctx);
    case 'computed':
      return compileComputed(node, ctx, Prisma.sql`g.id`);
    case 'and':
      return Prisma.sql`(${Prisma.join(
        node.conditions.map((c) => compileAccountCondition(c, ctx)),
        ' AND ',
      )})`;
    case 'or':
      return Prisma.sql`(${Prisma.join(
        node.conditions.map((c) => compileAccountCondition(c, ctx)),
        ' OR ',
      )})`;
    case 'not':
      return Prisma.sql`NOT (${compileAccountCondition(node.condition, ctx)})`;
    case 'performed':
    case 'not_performed':
    case 'first_performed':
    case 'last_performed':
    case 'active':
    case 'inactive':
    case 'first_seen':
    case 'last_seen':
    case 'sequence':
      // The validator refuses these at account level; reaching here is a bug, not bad input.
      throw new Error(`"${node.type}" is a profile condition and cannot be compiled for an account`);
    default:
      return assertUnreachable(node);
  }
}

const COUNT_OPERATORS: Readonly<Record<CountOp, string>> = { at_least: '>=', at_most: '<=', exactly: '=' };

/** FROM … WHERE of the account's live members, the profile row aliased `p`. */
function liveMembers(ctx: CompileContext): Prisma.Sql {
  return Prisma.sql`FROM group_memberships gm JOIN profiles p ON p.id = gm.profile_id
    WHERE gm.group_id = g.id AND p.workspace_id = ${ctx.workspaceId}::uuid AND p.merged_into_id IS NULL`;
}

function compileMembers(node: MembersCondition, ctx: CompileContext): Prisma.Sql {
  const member = compileAudiencePredicate(node.condition, ctx);
  switch (node.quantifier) {
    case 'any':
      return Prisma.sql`EXISTS (SELECT 1 ${liveMembers(ctx)} AND ${member})`;
    case 'no':
      return Prisma.sql`NOT EXISTS (SELECT 1 ${liveMembers(ctx)} AND ${member})`;
    case 'all':
      return Prisma.sql`NOT EXISTS (SELECT 1 ${liveMembers(ctx)} AND NOT (${member}))`;
    default:
      return assertUnreachable(node.quantifier);
  }
}

/** As compileInAudience for profiles, with the account's group id as the member id. */
function compileAccountInAudience(node: InAudienceCondition, ctx: CompileContext): Prisma.Sql {
  return Prisma.sql`(EXISTS (SELECT 1 FROM audience_members am JOIN audiences a ON a.id = am.audience_id WHERE a.workspace_id = ${ctx.workspaceId}::uuid AND a.key = ${node.audience} AND am.profile_id = g.id)) IS TRUE`;
}

/**
 * The members of an account who receive its emails, as a predicate over the member's profile `p`:
 * those satisfying `condition` (every member without one) and having an email address, a string
 * `email` trait or an `email` identity, as the delivery worker looks for one.
 */
export function compileRecipientPredicate(condition: AudienceAst | undefined, ctx: CompileContext): Prisma.Sql {
  const hasEmail = Prisma.sql`((jsonb_typeof(p.traits->'email') = 'string' AND btrim(p.traits->>'email') <> '')
    OR EXISTS (SELECT 1 FROM identities i WHERE i.profile_id = p.id AND i.type = 'email')) IS TRUE`;
  return condition ? Prisma.sql`(${compileAudiencePredicate(condition, ctx)} AND ${hasEmail})` : hasEmail;
}
