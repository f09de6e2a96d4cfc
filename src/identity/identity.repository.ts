import { Injectable } from '@nestjs/common';

import { liveProfileFilter } from '../database/live-profile-filter';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { seenNow } from '../profiles/profile-seen';
import { Identifier } from './identifiers';
import { KnownIdentity, KnownProfile, MergePlan } from './identity-planner';

/** A found identity: type, value, profile id. */
type KnownIdentityTuple = [string, string, string];
/** A profile owning one: id, created_at, last_seen_at (JSON timestamps), merge_count, limited identities. */
type KnownProfileTuple = [string, string, string, number, Identifier[]];

@Injectable()
export class IdentityRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The existing identities among `identifiers`, with the profile owning each. */
  async findIdentities(workspaceId: string, identifiers: Identifier[]): Promise<KnownIdentity[]> {
    if (identifiers.length === 0) return [];
    // Straight on the pool: this read runs for every tracking request. One JSON array comes back:
    // rows cost more to send and parse than the query.
    const [row] = await this.prisma.query<{ identities: KnownIdentityTuple[] }>(
      Prisma.sql`
      SELECT COALESCE(jsonb_agg(jsonb_build_array(i.type, i.value, i.profile_id)), '[]') AS identities
      FROM unnest(${identifiers.map((i) => i.type)}::text[], ${identifiers.map((i) => i.value)}::text[]) AS w(type, value)
      -- One index probe per identifier even when statistics are stale (a young table looks empty,
      -- and a hash join over all identities of the workspace costs 10x more, growing with it).
      -- OFFSET 0 keeps the planner from flattening the LATERAL subquery into such a join.
      CROSS JOIN LATERAL (
        SELECT x.type, x.value, x.profile_id FROM identities x
        WHERE x.workspace_id = ${workspaceId}::uuid AND x.type = w.type AND x.value = w.value
        OFFSET 0
      ) AS i`,
      'identity_find_identities',
    );
    return (row?.identities ?? []).map(([type, value, profileId]) => ({ type, value, profileId }));
  }

  /** What planning a merge or a new identity needs to know of these profiles (the live ones). */
  async findProfiles(workspaceId: string, profileIds: string[], limitedTypes: string[]): Promise<KnownProfile[]> {
    if (profileIds.length === 0) return [];
    const [row] = await this.prisma.query<{ profiles: KnownProfileTuple[] }>(
      Prisma.sql`
      SELECT COALESCE(jsonb_agg(jsonb_build_array(p.id, p.created_at, p.last_seen_at, p.merge_count,
               COALESCE((SELECT jsonb_agg(jsonb_build_object('type', l.type, 'value', l.value))
                         FROM identities l WHERE l.profile_id = p.id AND l.type = ANY(${limitedTypes}::text[])), '[]'))), '[]')
             AS profiles
      FROM unnest(${profileIds}::uuid[]) AS d(id)
      CROSS JOIN LATERAL (
        SELECT id, created_at, ${seenNow('profiles').last} AS last_seen_at, merge_count FROM profiles
        WHERE id = d.id AND ${liveProfileFilter(workspaceId)}
        OFFSET 0
      ) AS p`,
      'identity_find_profiles',
    );
    return (row?.profiles ?? []).map(([id, createdAt, lastSeenAt, mergeCount, limited]) => ({
      id,
      createdAt: new Date(createdAt),
      lastSeenAt: new Date(lastSeenAt),
      mergeCount,
      limited,
    }));
  }

  /**
   * Locks the live (not merged, not erased) profiles among `profileIds` FOR UPDATE, in id order so
   * two lockers never wait on each other in a cycle. Returns the ids it locked.
   */
  async lockLiveProfiles(tx: Tx, workspaceId: string, profileIds: string[]): Promise<string[]> {
    if (profileIds.length === 0) return [];
    const rows = await tx.$queryRaw<{ id: string }[]>`
      SELECT id FROM profiles
      WHERE id = ANY(${profileIds}::uuid[]) AND ${liveProfileFilter(workspaceId)}
      ORDER BY id FOR UPDATE`;
    return rows.map((row) => row.id);
  }

  /**
   * Identities of the given types held by the profiles (read after locking them). The workspace
   * test sits in `(…) IS TRUE` for the reason liveProfileFilter gives.
   */
  async identitiesOfTypes(
    tx: Tx,
    workspaceId: string,
    profileIds: string[],
    types: string[],
  ): Promise<KnownIdentity[]> {
    if (profileIds.length === 0 || types.length === 0) return [];
    return tx.$queryRaw<KnownIdentity[]>`
      SELECT type, value, profile_id AS "profileId" FROM identities
      WHERE profile_id = ANY(${profileIds}::uuid[]) AND (workspace_id = ${workspaceId}::uuid) IS TRUE
        AND type = ANY(${types}::text[])`;
  }

  /**
   * Moves everything the losers own to the survivor in one statement (the caller has locked both): events, identities, group
   * memberships; traits merge with the most recently seen profile winning each key. Losers keep
   * their row with merged_into_id set (so their ids still resolve); the merge is logged and every
   * profile involved is queued for re-evaluation through the outbox.
   */
  async applyMerge(tx: Tx, workspaceId: string, merge: MergePlan): Promise<void> {
    const { survivorId, loserIds } = merge;
    const all = [survivorId, ...loserIds];
    // With the first and last seen of their events (profile-seen.ts), read before the events move:
    // nothing may have applied them to the losers' rows yet.
    const seen = seenNow('p');
    await tx.$queryRaw`
      WITH involved AS (
        SELECT p.id, p.traits, ${seen.first} AS first_seen_at, ${seen.last} AS last_seen_at, p.last_identified_at, p.merge_count
        FROM profiles p
        WHERE p.workspace_id = ${workspaceId}::uuid AND p.id = ANY(${all}::uuid[])
        ORDER BY p.id FOR UPDATE
      ),
      merged_traits AS (
        SELECT jsonb_object_agg(t.key, t.value ORDER BY i.last_seen_at, i.id = ${survivorId}::uuid) AS traits
        FROM involved i CROSS JOIN LATERAL jsonb_each(i.traits) AS t
      ),
      survivor AS (
        UPDATE profiles p SET
          traits = COALESCE((SELECT traits FROM merged_traits), '{}'::jsonb),
          first_seen_at = (SELECT min(first_seen_at) FROM involved),
          last_seen_at = (SELECT max(last_seen_at) FROM involved),
          last_identified_at = (SELECT max(last_identified_at) FROM involved),
          merge_count = p.merge_count + (SELECT COALESCE(sum(merge_count + 1), 0) FROM involved WHERE id <> ${survivorId}::uuid),
          updated_at = now()
        WHERE p.id = ${survivorId}::uuid
        RETURNING p.id
      ),
      losers AS (
        UPDATE profiles p SET merged_into_id = ${survivorId}::uuid, updated_at = now()
        WHERE p.workspace_id = ${workspaceId}::uuid
          AND (p.id = ANY(${loserIds}::uuid[]) OR p.merged_into_id = ANY(${loserIds}::uuid[]))
        RETURNING p.id
      ),
      moved_events AS (
        UPDATE events SET profile_id = ${survivorId}::uuid
        WHERE workspace_id = ${workspaceId}::uuid AND profile_id = ANY(${loserIds}::uuid[])
        RETURNING 1
      ),
      moved_identities AS (
        UPDATE identities SET profile_id = ${survivorId}::uuid
        WHERE workspace_id = ${workspaceId}::uuid AND profile_id = ANY(${loserIds}::uuid[])
        RETURNING 1
      ),
      copied_groups AS (
        INSERT INTO group_memberships (group_id, profile_id, created_at)
        SELECT group_id, ${survivorId}::uuid, min(created_at) FROM group_memberships
        WHERE profile_id = ANY(${loserIds}::uuid[]) GROUP BY group_id
        ON CONFLICT DO NOTHING
        RETURNING 1
      ),
      dropped_groups AS (
        DELETE FROM group_memberships WHERE profile_id = ANY(${loserIds}::uuid[]) RETURNING 1
      ),
      logged AS (
        INSERT INTO profile_merges (workspace_id, from_profile_id, into_profile_id, identifiers, created_at)
        SELECT ${workspaceId}::uuid, loser, ${survivorId}::uuid, ${JSON.stringify(merge.identifiers)}::jsonb, now()
        FROM unnest(${loserIds}::uuid[]) AS loser
        RETURNING 1
      ),
      changes AS (
        INSERT INTO profile_changes (workspace_id, profile_ids, created_at) VALUES (${workspaceId}::uuid, ${all}::uuid[], now())
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM survivor)::int AS survivors`;
  }
}
