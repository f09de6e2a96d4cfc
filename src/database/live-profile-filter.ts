import { Prisma } from '../generated/prisma/client';

/**
 * "The profile is in this workspace and not merged away", for queries that reach a few profiles by
 * primary key. Wrapped in `(…) IS TRUE`, which filters exactly like the condition inside but cannot
 * drive an index: with stale statistics (a young table looks empty) the planner otherwise scans
 * every profile of the workspace, or every live one through the merged_into_id index — 35–67 ms
 * per ingest batch and 86 ms per real-time evaluation where the probes take about 1 ms.
 */
export function liveProfileFilter(workspaceId: string, alias?: string): Prisma.Sql {
  const column = (name: string) => Prisma.raw(alias ? `${alias}.${name}` : name);
  return Prisma.sql`(${column('workspace_id')} = ${workspaceId}::uuid AND ${column('merged_into_id')} IS NULL) IS TRUE`;
}
