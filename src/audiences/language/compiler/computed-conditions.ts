import { Prisma } from '../../../generated/prisma/client';
import { ComputedCondition } from '../audience-ast';
import { CompileContext } from './compile-context';
import { compileValueTest } from './value-tests';

/**
 * A test on the current value of a computed trait (src/traits), by key: the unique
 * computed_traits(workspace_id, key) index, then the computed_trait_values primary key
 * (trait_id, profile_id). TRUE or FALSE, never NULL: a profile without a value, or a key that
 * names no trait, fails every test (the API rejects unknown keys before compiling).
 *
 * `subject` is the profile `p.id`, or for an account-level trait in an account audience the
 * account `g.id` (account values are kept under the account's id in the same table).
 *
 * The value is read as the profile's own column would be, so every value test of `trait` applies
 * with the same semantics (`computed logins_7d >= 3`, `computed top_category in ["shoes"]`).
 */
export function compileComputed(
  node: ComputedCondition,
  ctx: CompileContext,
  subject: Prisma.Sql = Prisma.sql`p.id`,
): Prisma.Sql {
  const value = Prisma.sql`(SELECT v.value FROM computed_trait_values v JOIN computed_traits t ON t.id = v.trait_id WHERE t.workspace_id = ${ctx.workspaceId}::uuid AND t.key = ${node.trait} AND v.profile_id = ${subject})`;
  return compileValueTest(value, [], node, ctx);
}
