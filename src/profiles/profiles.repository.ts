import { Injectable } from '@nestjs/common';

import { InteractiveDatabase } from '../database/interactive-database';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { seenNow } from './profile-seen';

export interface ProfileRow {
  id: string;
  traits: unknown;
  firstSeenAt: Date;
  lastSeenAt: Date;
  mergedIntoId: string | null;
  mergeCount: number;
  createdAt: Date;
}

export interface IdentityRow {
  type: string;
  value: string;
  createdAt: Date;
}

export interface MergeRow {
  fromProfileId: string;
  intoProfileId: string;
  identifiers: unknown;
  createdAt: Date;
}

export interface MembershipRow {
  audienceId: string;
  audienceKey: string;
  enteredAt: Date;
}

export interface GroupMembershipRow {
  groupId: string;
  traits: unknown;
  joinedAt: Date;
}

export interface EventRow {
  id: bigint;
  sourceId: string;
  messageId: string;
  type: string;
  name: string | null;
  userId: string | null;
  anonymousId: string | null;
  properties: unknown;
  traits: unknown;
  context: unknown;
  integrations: unknown;
  timestamp: Date;
  originalTimestamp: Date | null;
  sentAt: Date | null;
  receivedAt: Date;
}

export interface EventCursor {
  timestamp: Date;
  id: bigint;
}

export interface ErasureCounts {
  profiles: number;
  identities: number;
  events: number;
  suppressedEmails: number;
}

/** Listings page through indexes; only a huge page could make them slow. */
const LISTING_SUBJECT = { field: 'limit', narrow: 'a smaller page (limit)' };

@Injectable()
export class ProfilesRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly interactive: InteractiveDatabase,
  ) {}

  async findProfileIdByIdentity(workspaceId: string, type: string, value: string): Promise<string | undefined> {
    const identity = await this.prisma.identity.findUnique({
      where: { workspaceId_type_value: { workspaceId, type, value } },
      select: { profileId: true },
    });
    return identity?.profileId;
  }

  /** First and last seen as of the profile's last stored event, pending evaluation or not (see profile-seen.ts). */
  async findProfile(workspaceId: string, profileId: string): Promise<ProfileRow | null> {
    const seen = seenNow('p');
    const [row] = await this.prisma.query<ProfileRow>(
      Prisma.sql`
      SELECT p.id::text AS id, p.traits, ${seen.first} AS "firstSeenAt", ${seen.last} AS "lastSeenAt",
             p.merged_into_id::text AS "mergedIntoId", p.merge_count AS "mergeCount", p.created_at AS "createdAt"
      FROM profiles p WHERE p.id = ${profileId}::uuid AND (p.workspace_id = ${workspaceId}::uuid) IS TRUE`,
      'profiles_find_profile',
    );
    return row ?? null;
  }

  async listIdentities(workspaceId: string, profileId: string): Promise<IdentityRow[]> {
    return this.prisma.identity.findMany({
      where: { workspaceId, profileId },
      orderBy: [{ type: 'asc' }, { createdAt: 'asc' }],
      select: { type: true, value: true, createdAt: true },
    });
  }

  async listMerges(workspaceId: string, profileId: string): Promise<MergeRow[]> {
    return this.prisma.profileMerge.findMany({
      where: { workspaceId, OR: [{ intoProfileId: profileId }, { fromProfileId: profileId }] },
      orderBy: { id: 'asc' },
      select: { fromProfileId: true, intoProfileId: true, identifiers: true, createdAt: true },
    });
  }

  /** The audiences a profile is in (interactive budget). */
  async listMemberships(workspaceId: string, profileId: string): Promise<MembershipRow[]> {
    return this.interactive.query<MembershipRow>(
      workspaceId,
      Prisma.sql`
      SELECT m.audience_id::text AS "audienceId", a.key AS "audienceKey", m.entered_at AS "enteredAt"
      FROM audience_members m JOIN audiences a ON a.id = m.audience_id
      WHERE a.workspace_id = ${workspaceId}::uuid AND m.profile_id = ${profileId}::uuid
      ORDER BY m.entered_at, a.key`,
      LISTING_SUBJECT,
    );
  }

  /** The profile's computed trait values and scores (`<key>`, `<key>_band`) by key (interactive budget). */
  async computedTraits(workspaceId: string, profileId: string): Promise<Record<string, unknown>> {
    const rows = await this.interactive.query<{ key: string; value: unknown }>(
      workspaceId,
      Prisma.sql`
      SELECT t.key, v.value
      FROM computed_trait_values v JOIN computed_traits t ON t.id = v.trait_id
      WHERE v.workspace_id = ${workspaceId}::uuid AND v.profile_id = ${profileId}::uuid
      UNION ALL
      SELECT k.key, k.value
      FROM score_values sv JOIN scores s ON s.id = sv.score_id
      CROSS JOIN LATERAL (VALUES (s.key, to_jsonb(sv.value)), (s.key || '_band', to_jsonb(sv.band))) AS k(key, value)
      WHERE sv.workspace_id = ${workspaceId}::uuid AND sv.subject_id = ${profileId}::uuid
      ORDER BY 1`,
      LISTING_SUBJECT,
    );
    return Object.fromEntries(rows.map((row) => [row.key, row.value]));
  }

  /** The groups (accounts) a profile belongs to (interactive budget). */
  async listGroups(workspaceId: string, profileId: string): Promise<GroupMembershipRow[]> {
    return this.interactive.query<GroupMembershipRow>(
      workspaceId,
      Prisma.sql`
      SELECT g.group_id AS "groupId", g.traits, m.created_at AS "joinedAt"
      FROM group_memberships m JOIN groups g ON g.id = m.group_id
      WHERE g.workspace_id = ${workspaceId}::uuid AND m.profile_id = ${profileId}::uuid
      ORDER BY m.created_at, g.group_id`,
      LISTING_SUBJECT,
    );
  }

  /** Newest first, keyset-paginated on (timestamp, id), served by events(workspace_id, profile_id, timestamp) (interactive budget). */
  async pageEvents(workspaceId: string, profileId: string, limit: number, after?: EventCursor): Promise<EventRow[]> {
    const before = after
      ? Prisma.sql`AND (e.timestamp, e.id) < (${after.timestamp.toISOString()}::timestamptz, ${after.id.toString()}::bigint)`
      : Prisma.empty;
    const rows = await this.interactive.query<Omit<EventRow, 'id'> & { id: string }>(
      workspaceId,
      Prisma.sql`
      SELECT e.id::text AS id, e.source_id::text AS "sourceId", e.message_id AS "messageId", e.type, e.name,
        e.user_id AS "userId", e.anonymous_id AS "anonymousId", e.properties, e.traits, e.context, e.integrations,
        e.timestamp, e.original_timestamp AS "originalTimestamp", e.sent_at AS "sentAt", e.received_at AS "receivedAt"
      FROM events e
      WHERE e.workspace_id = ${workspaceId}::uuid AND e.profile_id = ${profileId}::uuid ${before}
      ORDER BY e.timestamp DESC, e.id DESC
      LIMIT ${limit}::int`,
      LISTING_SUBJECT,
    );
    return rows.map((row) => ({ ...row, id: BigInt(row.id) }));
  }

  async lockProfile(tx: Tx, workspaceId: string, profileId: string): Promise<boolean> {
    const rows = await tx.$queryRaw<{ id: string }[]>`
      SELECT id FROM profiles WHERE workspace_id = ${workspaceId}::uuid AND id = ${profileId}::uuid FOR UPDATE`;
    return rows.length > 0;
  }

  /** The profile and every profile merged into it (merged_into_id is kept pointing at the survivor). */
  async profileFamily(tx: Tx, workspaceId: string, profileId: string): Promise<string[]> {
    const rows = await tx.$queryRaw<{ id: string }[]>`
      WITH RECURSIVE family AS (
        SELECT id FROM profiles WHERE workspace_id = ${workspaceId}::uuid AND id = ${profileId}::uuid
        UNION
        SELECT p.id FROM profiles p JOIN family f ON p.merged_into_id = f.id WHERE p.workspace_id = ${workspaceId}::uuid
      )
      SELECT id FROM family`;
    return rows.map((row) => row.id);
  }

  /**
   * Erases profiles and everything about them in one statement. Their emails (identities and the
   * `email` trait) go on the suppression list with reason `erased`, so no destination mails them
   * again. The merge log rows naming them go too: they hold identifiers, which are personal data.
   */
  async erase(tx: Tx, workspaceId: string, profileIds: string[]): Promise<ErasureCounts> {
    const [counts] = await tx.$queryRaw<ErasureCounts[]>`
      WITH emails AS (
        SELECT value AS email FROM identities
        WHERE workspace_id = ${workspaceId}::uuid AND profile_id = ANY(${profileIds}::uuid[]) AND type = 'email'
        UNION
        SELECT lower(trim(traits->>'email')) FROM profiles
        WHERE workspace_id = ${workspaceId}::uuid AND id = ANY(${profileIds}::uuid[]) AND jsonb_typeof(traits->'email') = 'string'
      ),
      suppressed AS (
        INSERT INTO suppressions (id, workspace_id, email, reason, created_at)
        SELECT gen_random_uuid(), ${workspaceId}::uuid, email, 'erased', now() FROM emails WHERE email <> ''
        ON CONFLICT (workspace_id, email) DO UPDATE SET reason = 'erased'
        RETURNING 1
      ),
      events_gone AS (
        DELETE FROM events WHERE workspace_id = ${workspaceId}::uuid AND profile_id = ANY(${profileIds}::uuid[]) RETURNING 1
      ),
      identities_gone AS (
        DELETE FROM identities WHERE workspace_id = ${workspaceId}::uuid AND profile_id = ANY(${profileIds}::uuid[]) RETURNING 1
      ),
      groups_gone AS (
        DELETE FROM group_memberships WHERE profile_id = ANY(${profileIds}::uuid[]) RETURNING 1
      ),
      members_gone AS (
        DELETE FROM audience_members m USING audiences a
        WHERE m.audience_id = a.id AND a.workspace_id = ${workspaceId}::uuid AND m.profile_id = ANY(${profileIds}::uuid[])
        RETURNING m.audience_id, m.profile_id, a.version
      ),
      -- The ledger stays whole: every open membership of the erased person is closed by an exit.
      -- No deliveries are made for these exits, since nothing is left to send about the person.
      exits AS (
        INSERT INTO audience_transitions (workspace_id, audience_id, profile_id, kind, at, audience_version)
        SELECT ${workspaceId}::uuid, audience_id, profile_id, 'exited', now(), version FROM members_gone
        RETURNING 1
      ),
      member_counts AS (
        UPDATE audiences a SET member_count = greatest(a.member_count - gone.n, 0)
        FROM (SELECT audience_id, count(*)::int AS n FROM members_gone GROUP BY audience_id) gone
        WHERE a.id = gone.audience_id
        RETURNING 1
      ),
      merges_gone AS (
        DELETE FROM profile_merges WHERE workspace_id = ${workspaceId}::uuid
          AND (from_profile_id = ANY(${profileIds}::uuid[]) OR into_profile_id = ANY(${profileIds}::uuid[]))
        RETURNING 1
      ),
      -- Computed values and their history are data about the person: gone with them.
      computed_gone AS (
        DELETE FROM computed_trait_values WHERE workspace_id = ${workspaceId}::uuid AND profile_id = ANY(${profileIds}::uuid[])
        RETURNING 1
      ),
      computed_history_gone AS (
        DELETE FROM computed_trait_history WHERE workspace_id = ${workspaceId}::uuid AND profile_id = ANY(${profileIds}::uuid[])
        RETURNING 1
      ),
      -- Scores (src/scores) and their snapshots too; snapshots by the (score_id, subject_id, …) key.
      scores_gone AS (
        DELETE FROM score_values WHERE workspace_id = ${workspaceId}::uuid AND subject_id = ANY(${profileIds}::uuid[])
        RETURNING 1
      ),
      score_snapshots_gone AS (
        DELETE FROM score_snapshots x USING scores s
        WHERE s.workspace_id = ${workspaceId}::uuid AND x.score_id = s.id AND x.subject_id = ANY(${profileIds}::uuid[])
        RETURNING 1
      ),
      -- The erased profiles leave the outbox rows that queue them; a row left with none goes.
      changes_gone AS (
        DELETE FROM profile_changes
        WHERE workspace_id = ${workspaceId}::uuid AND profile_ids <@ ${profileIds}::uuid[]
        RETURNING 1
      ),
      changes_pruned AS (
        UPDATE profile_changes
        SET profile_ids = ARRAY(SELECT u FROM unnest(profile_ids) AS u WHERE u <> ALL(${profileIds}::uuid[]))
        WHERE workspace_id = ${workspaceId}::uuid AND profile_ids && ${profileIds}::uuid[]
          AND NOT profile_ids <@ ${profileIds}::uuid[]
        RETURNING 1
      ),
      profiles_gone AS (
        DELETE FROM profiles WHERE workspace_id = ${workspaceId}::uuid AND id = ANY(${profileIds}::uuid[]) RETURNING 1
      )
      SELECT (SELECT count(*) FROM profiles_gone)::int AS profiles,
             (SELECT count(*) FROM identities_gone)::int AS identities,
             (SELECT count(*) FROM events_gone)::int AS events,
             (SELECT count(*) FROM suppressed)::int AS "suppressedEmails"`;
    return counts ?? { profiles: 0, identities: 0, events: 0, suppressedEmails: 0 };
  }
}
