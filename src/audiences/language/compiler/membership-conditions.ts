import { Prisma } from '../../../generated/prisma/client';
import { InAudienceCondition } from '../audience-ast';
import { batchTargetRelation, CompileContext } from './compile-context';

/**
 * Current membership of another audience of the same workspace, by key: the unique
 * audiences(workspace_id, key) index, then the audience_members primary key. An unknown key
 * matches nobody; the service rejects unknown keys and cycles before compiling.
 *
 * `IS TRUE` keeps the test from becoming a join planned from statistics (see profileIn). Postgres
 * then runs it either as one hashed set of the audience's members or as a primary-key probe per
 * profile, both bounded whatever the statistics say; for a few profiles it probes.
 */
export function compileInAudience(node: InAudienceCondition, ctx: CompileContext): Prisma.Sql {
  const target = ctx.batch ? ctx.batchTargets?.get(node.audience) : undefined;
  if (target) {
    // A real-time batch that evaluates the referenced audience in an earlier stage of the same
    // statement: its new membership of the batch's profiles is that stage's target set.
    return Prisma.sql`(p.id IN (SELECT t.profile_id FROM ${batchTargetRelation(target.stage)} t WHERE t.audience_id = ${target.audienceId}::uuid)) IS TRUE`;
  }
  return Prisma.sql`(EXISTS (SELECT 1 FROM audience_members am JOIN audiences a ON a.id = am.audience_id WHERE a.workspace_id = ${ctx.workspaceId}::uuid AND a.key = ${node.audience} AND am.profile_id = p.id)) IS TRUE`;
}
