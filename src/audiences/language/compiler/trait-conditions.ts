import { Prisma } from '../../../generated/prisma/client';
import { TraitCondition } from '../audience-ast';
import { CompileContext } from './compile-context';
import { compileValueTest } from './value-tests';

/** Traits are the profile's current traits, whatever eventsSince says. */
export function compileTrait(node: TraitCondition, ctx: CompileContext): Prisma.Sql {
  return compileValueTest(Prisma.sql`p.traits`, node.path, node, ctx);
}
