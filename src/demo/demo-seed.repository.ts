import { Injectable } from '@nestjs/common';

import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import type { EventRow, IdentityRow, ProfileJourney, ProfileRow } from './generator/rows';

export interface DemoSeedRow {
  profiles: number;
  events: number;
  loadedAt: Date;
  completedAt: Date | null;
}

export interface AudienceState {
  key: string;
  status: string;
  statusReason: string | null;
  lastComputedAt: Date | null;
}

export interface LoadedCounts {
  profiles: number;
  identities: number;
  events: number;
}

/** Journeys per statement: about 7,000 events, a few MB of JSON. */
const CHUNK_PROFILES = 500;
/** The whole load is one transaction (all or nothing); a busy machine needs more than the default 5 s. */
const LOAD_TIMEOUT_MS = 5 * 60_000;

/** `JSON.stringify` of rows whose JSON columns are already JSON text: the texts are spliced in, not re-quoted. */
function profilesJson(rows: readonly ProfileRow[]): string {
  const q = JSON.stringify;
  return `[${rows
    .map(
      (r) =>
        `{"id":${q(r.id)},"traits":${r.traits},"first_seen_at":${q(r.firstSeenAt)},"last_seen_at":${q(r.lastSeenAt)},` +
        `"created_at":${q(r.createdAt)},"updated_at":${q(r.updatedAt)}}`,
    )
    .join(',')}]`;
}

function identitiesJson(rows: readonly IdentityRow[]): string {
  const q = JSON.stringify;
  return `[${rows
    .map(
      (r) =>
        `{"id":${q(r.id)},"profile_id":${q(r.profileId)},"type":${q(r.type)},"value":${q(r.value)},` +
        `"created_at":${q(r.createdAt)}}`,
    )
    .join(',')}]`;
}

function eventsJson(rows: readonly EventRow[]): string {
  const q = JSON.stringify;
  return `[${rows
    .map(
      (e) =>
        `{"profile_id":${q(e.profileId)},"message_id":${q(e.messageId)},"type":${q(e.type)},"name":${q(e.name)},` +
        `"user_id":${q(e.userId)},"anonymous_id":${q(e.anonymousId)},"properties":${e.properties},` +
        `"traits":${e.traits ?? 'null'},"context":${e.context},"timestamp":${q(e.timestamp)},` +
        `"original_timestamp":${q(e.originalTimestamp)},"sent_at":${q(e.sentAt)},"received_at":${q(e.receivedAt)}}`,
    )
    .join(',')}]`;
}

/** The demo's own table, and the bulk load of its generated people. */
@Injectable()
export class DemoSeedRepository {
  constructor(private readonly prisma: PrismaService) {}

  async find(workspaceId: string): Promise<DemoSeedRow | null> {
    return this.prisma.demoSeed.findUnique({
      where: { workspaceId },
      select: { profiles: true, events: true, loadedAt: true, completedAt: true },
    });
  }

  /**
   * Writes every journey's profile, identities and events as ingest would have left them (traits
   * merged, first/last seen from the events, one identity per identifier), and the seed row, in ONE
   * transaction: a start that dies half way leaves nothing, and the next start loads again.
   * Rows travel as JSON arrays expanded by jsonb_to_recordset, a few hundred people a statement.
   */
  async load(workspaceId: string, sourceId: string, journeys: Iterable<ProfileJourney>): Promise<LoadedCounts> {
    const counts = await this.prisma.$transaction(
      async (tx) => {
        const loaded: LoadedCounts = { profiles: 0, identities: 0, events: 0 };
        let chunk: ProfileJourney[] = [];
        const flush = async (): Promise<void> => {
          if (chunk.length === 0) return;
          const profiles = chunk.map((j) => j.profile);
          const identities = chunk.flatMap((j) => j.identities);
          const events = chunk.flatMap((j) => j.events);
          chunk = [];
          loaded.profiles += await tx.$executeRaw(insertProfiles(workspaceId, profiles));
          loaded.identities += await tx.$executeRaw(insertIdentities(workspaceId, identities));
          loaded.events += await tx.$executeRaw(insertEvents(workspaceId, sourceId, events));
        };
        for (const journey of journeys) {
          chunk.push(journey);
          if (chunk.length >= CHUNK_PROFILES) await flush();
        }
        await flush();
        await tx.demoSeed.create({ data: { workspaceId, profiles: loaded.profiles, events: loaded.events } });
        return loaded;
      },
      { maxWait: 30_000, timeout: LOAD_TIMEOUT_MS },
    );
    // Fresh rows have no statistics yet; the audiences computed right after plan better with them.
    await this.prisma.$executeRaw`ANALYZE profiles, identities, events`;
    return counts;
  }

  async audienceStates(workspaceId: string, keys: readonly string[]): Promise<AudienceState[]> {
    return this.prisma.audience.findMany({
      where: { workspaceId, key: { in: [...keys] } },
      select: { key: true, status: true, statusReason: true, lastComputedAt: true },
    });
  }

  async markCompleted(workspaceId: string): Promise<void> {
    await this.prisma.demoSeed.update({ where: { workspaceId }, data: { completedAt: new Date() } });
  }
}

function insertProfiles(workspaceId: string, rows: readonly ProfileRow[]): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at, created_at, updated_at)
    SELECT p.id, ${workspaceId}::uuid, p.traits, p.first_seen_at, p.last_seen_at, p.created_at, p.updated_at
    FROM jsonb_to_recordset(${profilesJson(rows)}::jsonb) AS p(
      id uuid, traits jsonb, first_seen_at timestamptz, last_seen_at timestamptz, created_at timestamptz,
      updated_at timestamptz)`;
}

function insertIdentities(workspaceId: string, rows: readonly IdentityRow[]): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO identities (id, workspace_id, profile_id, type, value, created_at)
    SELECT i.id, ${workspaceId}::uuid, i.profile_id, i.type, i.value, i.created_at
    FROM jsonb_to_recordset(${identitiesJson(rows)}::jsonb) AS i(
      id uuid, profile_id uuid, type text, value text, created_at timestamptz)`;
}

function insertEvents(workspaceId: string, sourceId: string, rows: readonly EventRow[]): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO events (workspace_id, profile_id, source_id, message_id, type, name, user_id, anonymous_id,
                        properties, traits, context, timestamp, original_timestamp, sent_at, received_at)
    SELECT ${workspaceId}::uuid, e.profile_id, ${sourceId}::uuid, e.message_id, e.type, e.name, e.user_id,
           e.anonymous_id, e.properties, e.traits, e.context, e.timestamp, e.original_timestamp, e.sent_at,
           e.received_at
    FROM jsonb_to_recordset(${eventsJson(rows)}::jsonb) AS e(
      profile_id uuid, message_id text, type text, name text, user_id text, anonymous_id text, properties jsonb,
      traits jsonb, context jsonb, timestamp timestamptz, original_timestamp timestamptz, sent_at timestamptz,
      received_at timestamptz)
    ORDER BY e.timestamp`;
}
