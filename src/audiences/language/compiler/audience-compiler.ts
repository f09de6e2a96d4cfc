import { Prisma } from '../../../generated/prisma/client';
import { assertUnreachable, AudienceAst, AudienceCondition, PerformedCondition } from '../audience-ast';
import { compileActive, compileInactive, compileSeen } from './activity-conditions';
import { CompileContext } from './compile-context';
import { compileComputed } from './computed-conditions';
import {
  anyPerformedKey,
  compileAnyPerformed,
  compileFirstLastPerformed,
  compileNotPerformed,
  compilePerformed,
} from './event-conditions';
import { compileInAudience } from './membership-conditions';
import { compileSequence } from './sequence-conditions';
import { compileTrait } from './trait-conditions';

export type { CompileContext } from './compile-context';

/**
 * Compiles a validated definition into one boolean SQL predicate over the profile row aliased `p`,
 * to be used as `SELECT … FROM profiles p WHERE p.workspace_id = $ws AND p.merged_into_id IS NULL
 * AND <predicate>`. Every value is a bound parameter. Every part is TRUE or FALSE, never NULL, so
 * NOT means "does not match".
 */
export function compileAudiencePredicate(ast: AudienceAst, ctx: CompileContext): Prisma.Sql {
  return compileCondition(ast, ctx);
}

function compileCondition(node: AudienceCondition, ctx: CompileContext): Prisma.Sql {
  switch (node.type) {
    case 'performed':
      return compilePerformed(node, ctx);
    case 'not_performed':
      return compileNotPerformed(node, ctx);
    case 'first_performed':
    case 'last_performed':
      return compileFirstLastPerformed(node, ctx);
    case 'active':
      return compileActive(node, ctx);
    case 'inactive':
      return compileInactive(node, ctx);
    case 'first_seen':
    case 'last_seen':
      return compileSeen(node, ctx);
    case 'trait':
      return compileTrait(node, ctx);
    case 'computed':
      return compileComputed(node, ctx);
    case 'sequence':
      return compileSequence(node, ctx);
    case 'in_audience':
      return compileInAudience(node, ctx);
    case 'and':
      return Prisma.sql`(${Prisma.join(
        node.conditions.map((c) => compileCondition(c, ctx)),
        ' AND ',
      )})`;
    case 'or':
      return Prisma.sql`(${Prisma.join(compileDisjuncts(node.conditions, ctx), ' OR ')})`;
    case 'not':
      return Prisma.sql`NOT (${compileCondition(node.condition, ctx)})`;
    case 'members':
    case 'member_count':
    case 'created':
      // The validator refuses these at profile level (account-conditions.ts compiles them).
      throw new Error(`"${node.type}" is an account condition and cannot be compiled for a profile`);
    default:
      return assertUnreachable(node);
  }
}

/** The operands of an `or`, with performed conditions that differ only in filters merged into one. */
function compileDisjuncts(conditions: readonly AudienceCondition[], ctx: CompileContext): Prisma.Sql[] {
  const groups = new Map<string, PerformedCondition[]>();
  for (const condition of conditions) {
    const key = condition.type === 'performed' ? anyPerformedKey(condition) : undefined;
    if (key !== undefined && condition.type === 'performed') groups.set(key, [...(groups.get(key) ?? []), condition]);
  }
  const emitted = new Set<string>();
  return conditions.flatMap((condition) => {
    const key = condition.type === 'performed' ? anyPerformedKey(condition) : undefined;
    const group = key === undefined ? undefined : groups.get(key);
    if (key === undefined || !group || group.length < 2) return [compileCondition(condition, ctx)];
    if (emitted.has(key)) return [];
    emitted.add(key);
    return [compileAnyPerformed(group, ctx)];
  });
}
