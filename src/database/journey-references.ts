import { Prisma } from '../generated/prisma/client';

/**
 * Keys of the journeys of a workspace whose current definition, or a version that people are still
 * walking through, uses a destination (a send step) or an audience (the entry): deleting either
 * would leave those runs sending nowhere or entering from nothing.
 */
export function journeysUsingSql(
  workspaceId: string,
  used: { destinationId: string } | { audienceKey: string },
): Prisma.Sql {
  const uses = (definition: Prisma.Sql) =>
    'destinationId' in used
      ? Prisma.sql`EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${definition}->'steps') = 'array'
          THEN ${definition}->'steps' ELSE '[]'::jsonb END) s(step) WHERE s.step->>'destination' = ${used.destinationId})`
      : Prisma.sql`(${definition}->'entry'->>'audience') = ${used.audienceKey}`;
  return Prisma.sql`
    SELECT j.key FROM journeys j
    WHERE j.workspace_id = ${workspaceId}::uuid
      AND (${uses(Prisma.sql`j.definition`)}
           OR EXISTS (SELECT 1 FROM journey_versions v
                      WHERE v.journey_id = j.id AND ${uses(Prisma.sql`v.definition`)}
                        AND EXISTS (SELECT 1 FROM journey_runs r
                                    WHERE r.journey_id = v.journey_id AND r.version = v.version AND r.status = 'active')))
    ORDER BY j.key`;
}
