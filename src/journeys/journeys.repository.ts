import { Injectable } from '@nestjs/common';

import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import type { JourneyDefinition, SubjectLevel } from './journey-definition';

export type JourneyStatus = 'draft' | 'active' | 'paused';

export interface JourneyRow {
  id: string;
  workspaceId: string;
  key: string;
  name: string;
  status: JourneyStatus;
  version: number;
  definition: JourneyDefinition;
  activatedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const columns = Prisma.sql`
  id::text AS id, workspace_id::text AS "workspaceId", key, name, status::text AS status, version, definition,
  activated_at AS "activatedAt", created_at AS "createdAt", updated_at AS "updatedAt"`;

function json(definition: JourneyDefinition): string {
  return JSON.stringify(definition);
}

/** Journey definitions and their versions. */
@Injectable()
export class JourneysRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Null when the key is taken. */
  async insert(
    workspaceId: string,
    input: { key: string; name: string; definition: JourneyDefinition; now: Date },
  ): Promise<JourneyRow | null> {
    return this.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<JourneyRow[]>`
        INSERT INTO journeys (id, workspace_id, key, name, definition, created_at, updated_at)
        VALUES (gen_random_uuid(), ${workspaceId}::uuid, ${input.key}, ${input.name}, ${json(input.definition)}::jsonb,
                ${input.now}, ${input.now})
        ON CONFLICT (workspace_id, key) DO NOTHING
        RETURNING ${columns}`;
      const row = rows[0];
      if (!row) return null;
      await tx.$executeRaw`
        INSERT INTO journey_versions (journey_id, version, definition, created_at)
        VALUES (${row.id}::uuid, 1, ${json(input.definition)}::jsonb, ${input.now})`;
      return row;
    });
  }

  async page(workspaceId: string, limit: number, afterKey?: string): Promise<JourneyRow[]> {
    const after = afterKey !== undefined ? Prisma.sql`AND key > ${afterKey}` : Prisma.empty;
    return this.prisma.$queryRaw<JourneyRow[]>`
      SELECT ${columns} FROM journeys WHERE workspace_id = ${workspaceId}::uuid ${after}
      ORDER BY key COLLATE "C" LIMIT ${limit + 1}::int`;
  }

  async find(workspaceId: string, id: string): Promise<JourneyRow | null> {
    const rows = await this.prisma.$queryRaw<JourneyRow[]>`
      SELECT ${columns} FROM journeys WHERE workspace_id = ${workspaceId}::uuid AND id = ${id}::uuid`;
    return rows[0] ?? null;
  }

  /**
   * A new definition: a journey that was never activated is edited in place (nobody walked it);
   * any other gets a new version, and runs keep the version they entered with.
   */
  async update(
    workspaceId: string,
    id: string,
    input: { name?: string; definition?: JourneyDefinition; now: Date },
  ): Promise<JourneyRow | null> {
    return this.prisma.$transaction(async (tx) => {
      const [current] = await tx.$queryRaw<JourneyRow[]>`
        SELECT ${columns} FROM journeys WHERE workspace_id = ${workspaceId}::uuid AND id = ${id}::uuid FOR UPDATE`;
      if (!current) return null;
      let version = current.version;
      if (input.definition) {
        if (current.activatedAt === null) {
          await tx.$executeRaw`
            UPDATE journey_versions SET definition = ${json(input.definition)}::jsonb
            WHERE journey_id = ${id}::uuid AND version = ${version}::int`;
        } else {
          version += 1;
          await tx.$executeRaw`
            INSERT INTO journey_versions (journey_id, version, definition, created_at)
            VALUES (${id}::uuid, ${version}::int, ${json(input.definition)}::jsonb, ${input.now})`;
        }
      }
      const definition = input.definition ? Prisma.sql`${json(input.definition)}::jsonb` : Prisma.sql`definition`;
      const rows = await tx.$queryRaw<JourneyRow[]>`
        UPDATE journeys SET name = coalesce(${input.name ?? null}, name), definition = ${definition},
               version = ${version}::int, updated_at = ${input.now}
        WHERE id = ${id}::uuid RETURNING ${columns}`;
      return rows[0] ?? null;
    });
  }

  async delete(workspaceId: string, id: string): Promise<boolean> {
    const count = await this.prisma.$executeRaw`
      DELETE FROM journeys WHERE workspace_id = ${workspaceId}::uuid AND id = ${id}::uuid`;
    return count > 0;
  }

  /**
   * Activation: the first one stamps activated_at (entries count from then) and, with
   * includeCurrentMembers, starts a run for every current member of the entry audience (due at
   * once: the timer sweep starts them). Later activations resume timers where they stood.
   */
  async activate(workspaceId: string, id: string, now: Date): Promise<JourneyRow | null> {
    return this.prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRaw<JourneyRow[]>`
        SELECT ${columns} FROM journeys WHERE workspace_id = ${workspaceId}::uuid AND id = ${id}::uuid FOR UPDATE`;
      if (!row) return null;
      const first = row.activatedAt === null;
      const [updated] = await tx.$queryRaw<JourneyRow[]>`
        UPDATE journeys SET status = 'active', activated_at = coalesce(activated_at, ${now}),
               entries_scanned_until = coalesce(entries_scanned_until, ${now}), updated_at = ${now}
        WHERE id = ${id}::uuid RETURNING ${columns}`;
      const firstStep = row.definition.steps[0];
      if (first && row.definition.entry.includeCurrentMembers && firstStep) {
        await tx.$executeRaw`
          INSERT INTO journey_runs (id, workspace_id, journey_id, version, profile_id, active_profile_id, status, step_id,
                                    step_seq, step_entered_at, due_at, started_at)
          SELECT gen_random_uuid(), ${workspaceId}::uuid, ${id}::uuid, ${row.version}::int, m.profile_id, m.profile_id,
                 'active', ${firstStep.id}, 0, ${now}, ${now}, ${now}
          FROM audience_members m JOIN audiences a ON a.id = m.audience_id
          WHERE a.workspace_id = ${workspaceId}::uuid AND a.key = ${row.definition.entry.audience}
          ON CONFLICT DO NOTHING`;
      }
      return updated ?? null;
    });
  }

  async pause(workspaceId: string, id: string, now: Date): Promise<JourneyRow | null> {
    const rows = await this.prisma.$queryRaw<JourneyRow[]>`
      UPDATE journeys SET status = 'paused', updated_at = ${now}
      WHERE workspace_id = ${workspaceId}::uuid AND id = ${id}::uuid AND status <> 'draft'
      RETURNING ${columns}`;
    return rows[0] ?? (await this.find(workspaceId, id));
  }

  /** Of these keys, the audiences that exist in the workspace, with their level. */
  async existingAudiences(workspaceId: string, keys: string[]): Promise<Map<string, SubjectLevel>> {
    const rows = await this.prisma.$queryRaw<{ key: string; level: SubjectLevel }[]>`
      SELECT key, level::text AS level FROM audiences WHERE workspace_id = ${workspaceId}::uuid AND key = ANY(${keys}::text[])`;
    return new Map(rows.map((row) => [row.key, row.level]));
  }

  /** Of these ids, the destinations of the workspace, with their type. */
  async existingDestinations(workspaceId: string, ids: string[]): Promise<Map<string, string>> {
    const rows = await this.prisma.$queryRaw<{ id: string; type: string }[]>`
      SELECT id::text AS id, type::text AS type FROM destinations
      WHERE workspace_id = ${workspaceId}::uuid AND id::text = ANY(${ids}::text[])`;
    return new Map(rows.map((row) => [row.id, row.type]));
  }
}
