import { Prisma } from '../../../generated/prisma/client';
import { ComputedCondition } from '../audience-ast';
import { CompileContext, instant } from './compile-context';
import { compileValueTest } from './value-tests';

/**
 * A test on the current value of a computed trait (src/traits) or of an adoption score
 * (src/scores), by key, for the subject `subject` (`p.id` for a profile, `g.id` for an account):
 * the unique computed_traits(workspace_id, key) index, then the computed_trait_values primary key
 * (trait_id, profile_id); failing that, the score's value. TRUE or FALSE, never NULL: a subject
 * without a value, or a key that names nothing, fails every test (the API rejects unknown keys).
 * Account-level trait values are kept under the account's id in the same table.
 *
 * The value is read as the profile's own column would be, so every value test of `trait` applies
 * with the same semantics (`computed logins_7d >= 3`, `computed top_category in ["shoes"]`).
 */
export function compileComputed(
  node: ComputedCondition,
  ctx: CompileContext,
  subject: Prisma.Sql = Prisma.sql`p.id`,
): Prisma.Sql {
  const trait = Prisma.sql`(SELECT v.value FROM computed_trait_values v JOIN computed_traits t ON t.id = v.trait_id WHERE t.workspace_id = ${ctx.workspaceId}::uuid AND t.key = ${node.trait} AND v.profile_id = ${subject})`;
  const value = Prisma.sql`coalesce(${trait}, ${scoreValue(node.trait, ctx, subject)})`;
  return compileValueTest(value, [], node, ctx);
}

/** Keys a score answers to besides its own (src/scores/score-definition.ts keeps them apart from score keys). */
const BAND_KEY = /^(.+)_band$/;
const CHANGE_KEY = /^(.+)_change_([1-9][0-9]{0,2})d$/;

/**
 * A score's current value (`<key>`), its band (`<key>_band`), or its change (`<key>_change_<N>d`:
 * the value now minus the one recorded in the latest snapshot taken for a period that started at
 * least N days ago; none without such a snapshot). Each a lookup by score_values' and
 * score_snapshots' primary keys.
 */
function scoreValue(key: string, ctx: CompileContext, subject: Prisma.Sql): Prisma.Sql {
  const scoreOf = (scoreKey: string) =>
    Prisma.sql`FROM scores s JOIN score_values sv ON sv.score_id = s.id AND sv.subject_id = ${subject}
      WHERE s.workspace_id = ${ctx.workspaceId}::uuid AND s.key = ${scoreKey}`;
  const band = BAND_KEY.exec(key);
  const change = CHANGE_KEY.exec(key);
  const forms = [Prisma.sql`(SELECT to_jsonb(sv.value) ${scoreOf(key)})`];
  if (band) forms.push(Prisma.sql`(SELECT to_jsonb(sv.band) ${scoreOf(band[1]!)})`);
  if (change) {
    const since = instant(ctx.now.getTime() - Number(change[2]) * 86_400_000);
    forms.push(Prisma.sql`(SELECT to_jsonb(sv.value - (SELECT x.value FROM score_snapshots x
      WHERE x.score_id = s.id AND x.subject_id = ${subject} AND x.period_start <= ${since}
      ORDER BY x.period_start DESC LIMIT 1)) ${scoreOf(change[1]!)})`);
  }
  return forms.length === 1 ? forms[0]! : Prisma.sql`coalesce(${Prisma.join(forms, ', ')})`;
}
