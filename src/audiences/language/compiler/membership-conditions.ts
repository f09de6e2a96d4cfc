import { Prisma } from '../../../generated/prisma/client';
import { InAudienceCondition } from '../audience-ast';
import { CompileContext } from './compile-context';

/**
 * Current membership of another audience of the same workspace, by key: the unique
 * audiences(workspace_id, key) index, then the audience_members primary key. An unknown key
 * matches nobody; the service rejects unknown keys and cycles before compiling.
 */
export function compileInAudience(node: InAudienceCondition, ctx: CompileContext): Prisma.Sql {
  return Prisma.sql`EXISTS (SELECT 1 FROM audience_members am JOIN audiences a ON a.id = am.audience_id WHERE a.workspace_id = ${ctx.workspaceId}::uuid AND a.key = ${node.audience} AND am.profile_id = p.id)`;
}
