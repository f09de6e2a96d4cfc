import { Injectable } from '@nestjs/common';

import { InteractiveDatabase } from '../database/interactive-database';
import { Prisma } from '../generated/prisma/client';
import { seenNow } from '../profiles/profile-seen';

export interface AccountScoreRow {
  key: string;
  value: number;
  band: string;
}

export interface AccountRow {
  id: string;
  groupId: string;
  traits: Prisma.JsonValue;
  createdAt: Date;
  updatedAt: Date;
  memberCount: number;
}

export interface AccountMemberRow {
  profileId: string;
  traits: Prisma.JsonValue;
  lastSeenAt: Date;
  joinedAt: Date;
  identities: { type: string; value: string }[];
}

export interface AccountAudienceRow {
  audienceId: string;
  audienceKey: string;
  enteredAt: Date;
}

/** What a user narrows when a listing runs past the interactive time limit. */
const LISTING_SUBJECT = { field: 'limit', narrow: 'a smaller page (limit)' };

/** An account's live members: memberships of profiles not merged away (a merge moves memberships). */
const memberCount = Prisma.sql`(SELECT count(*)::int FROM group_memberships gm JOIN profiles p ON p.id = gm.profile_id
  WHERE gm.group_id = g.id AND p.merged_into_id IS NULL)`;

const accountColumns = Prisma.sql`g.id::text AS id, g.group_id AS "groupId", g.traits, g.created_at AS "createdAt",
  g.updated_at AS "updatedAt", ${memberCount} AS "memberCount"`;

/** Accounts (groups of `group` calls), read through the interactive budget. */
@Injectable()
export class AccountsRepository {
  constructor(private readonly interactive: InteractiveDatabase) {}

  /** By group id, `take` accounts after `afterGroupId`, served by groups(workspace_id, group_id). */
  async list(workspaceId: string, take: number, afterGroupId?: string): Promise<AccountRow[]> {
    const after = afterGroupId === undefined ? Prisma.empty : Prisma.sql`AND g.group_id > ${afterGroupId}`;
    return this.interactive.query<AccountRow>(
      workspaceId,
      Prisma.sql`SELECT ${accountColumns} FROM groups g
        WHERE g.workspace_id = ${workspaceId}::uuid ${after}
        ORDER BY g.group_id LIMIT ${take}::int`,
      LISTING_SUBJECT,
    );
  }

  async find(workspaceId: string, groupId: string): Promise<AccountRow | null> {
    const [row] = await this.interactive.query<AccountRow>(
      workspaceId,
      Prisma.sql`SELECT ${accountColumns} FROM groups g
        WHERE g.workspace_id = ${workspaceId}::uuid AND g.group_id = ${groupId}`,
      LISTING_SUBJECT,
    );
    return row ?? null;
  }

  /** The first `limit` live members by when they joined, with their identities. */
  async members(workspaceId: string, accountId: string, limit: number): Promise<AccountMemberRow[]> {
    return this.interactive.query<AccountMemberRow>(
      workspaceId,
      Prisma.sql`
      SELECT p.id::text AS "profileId", p.traits, ${seenNow('p').last} AS "lastSeenAt", gm.created_at AS "joinedAt",
        coalesce((SELECT jsonb_agg(jsonb_build_object('type', i.type, 'value', i.value) ORDER BY i.type, i.value)
                  FROM identities i WHERE i.workspace_id = p.workspace_id AND i.profile_id = p.id), '[]'::jsonb) AS identities
      FROM group_memberships gm JOIN profiles p ON p.id = gm.profile_id
      WHERE gm.group_id = ${accountId}::uuid AND p.workspace_id = ${workspaceId}::uuid AND p.merged_into_id IS NULL
      ORDER BY gm.created_at, p.id
      LIMIT ${limit}::int`,
      LISTING_SUBJECT,
    );
  }

  /** Members whose last activity falls in (since, now]. */
  async activeMembers(workspaceId: string, accountId: string, since: Date, now: Date): Promise<number> {
    const [row] = await this.interactive.query<{ count: number }>(
      workspaceId,
      Prisma.sql`
      SELECT count(*)::int AS count FROM group_memberships gm JOIN profiles p ON p.id = gm.profile_id
      CROSS JOIN LATERAL (SELECT ${seenNow('p').last} AS at) seen
      WHERE gm.group_id = ${accountId}::uuid AND p.workspace_id = ${workspaceId}::uuid AND p.merged_into_id IS NULL
        AND seen.at > ${since.toISOString()}::timestamptz AND seen.at <= ${now.toISOString()}::timestamptz`,
      LISTING_SUBJECT,
    );
    return row?.count ?? 0;
  }

  /** The account's values of account-level computed traits (src/traits), by key. */
  async computedTraits(workspaceId: string, accountId: string): Promise<Record<string, unknown>> {
    const [row] = await this.interactive.query<{ computed: Record<string, unknown> }>(
      workspaceId,
      Prisma.sql`
      SELECT coalesce(jsonb_object_agg(t.key, v.value), '{}'::jsonb) AS computed
      FROM computed_trait_values v JOIN computed_traits t ON t.id = v.trait_id
      WHERE v.workspace_id = ${workspaceId}::uuid AND v.profile_id = ${accountId}::uuid AND t.level = 'account'`,
      LISTING_SUBJECT,
    );
    return row?.computed ?? {};
  }

  /** The account audiences the account is a current member of. */
  async audiences(workspaceId: string, accountId: string): Promise<AccountAudienceRow[]> {
    return this.interactive.query<AccountAudienceRow>(
      workspaceId,
      Prisma.sql`
      SELECT m.audience_id::text AS "audienceId", a.key AS "audienceKey", m.entered_at AS "enteredAt"
      FROM audience_members m JOIN audiences a ON a.id = m.audience_id
      WHERE a.workspace_id = ${workspaceId}::uuid AND a.level = 'account' AND m.profile_id = ${accountId}::uuid
      ORDER BY m.entered_at, a.key`,
      LISTING_SUBJECT,
    );
  }

  /** The account's adoption scores by key: value and band (src/scores). */
  async scores(workspaceId: string, accountId: string): Promise<AccountScoreRow[]> {
    return this.interactive.query<AccountScoreRow>(
      workspaceId,
      Prisma.sql`
      SELECT s.key, sv.value, sv.band FROM score_values sv JOIN scores s ON s.id = sv.score_id
      WHERE sv.workspace_id = ${workspaceId}::uuid AND sv.subject_id = ${accountId}::uuid ORDER BY s.key`,
      LISTING_SUBJECT,
    );
  }
}
