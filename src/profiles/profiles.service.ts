import { Injectable } from '@nestjs/common';

import { cursorBigInt, cursorDate, cursorParts } from '../common/cursor';
import { TransactionRunner } from '../database/transactions';
import { EMAIL } from '../identity/identifiers';
import {
  DEFAULT_EVENTS_PAGE,
  ErasureView,
  IDENTIFIER_PATTERN,
  ProfileEventsView,
  ProfileListView,
  ProfileView,
} from './profiles.dto';
import { invalidCursor, ProfileNotFoundError } from './profiles.errors';
import { EventCursor, EventRow, ProfileRow, ProfilesRepository } from './profiles.repository';

export function encodeCursor(row: Pick<EventRow, 'timestamp' | 'id'>): string {
  return Buffer.from(`${row.timestamp.toISOString()}|${row.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): EventCursor {
  const [at, rawId] = cursorParts(cursor, 2) ?? [];
  const timestamp = cursorDate(at);
  const id = cursorBigInt(rawId);
  if (!timestamp || id === undefined) throw invalidCursor();
  return { timestamp, id };
}

@Injectable()
export class ProfilesService {
  constructor(
    private readonly repository: ProfilesRepository,
    private readonly transactions: TransactionRunner,
  ) {}

  async findByIdentifier(workspaceId: string, identifier: string): Promise<ProfileListView> {
    const [, type = '', raw = ''] = IDENTIFIER_PATTERN.exec(identifier) ?? [];
    const value = type === EMAIL ? raw.trim().toLowerCase() : raw.trim();
    const profileId = await this.repository.findProfileIdByIdentity(workspaceId, type, value);
    const profile = profileId && (await this.repository.findProfile(workspaceId, profileId));
    return { items: profile ? [await this.view(workspaceId, profile)] : [], nextCursor: null };
  }

  /** A merged-away id resolves to the profile it was merged into; `resolvedFrom` says so. */
  async get(workspaceId: string, profileId: string): Promise<ProfileView> {
    const profile = await this.resolve(workspaceId, profileId);
    const view = await this.view(workspaceId, profile);
    return profile.id === profileId ? view : { ...view, resolvedFrom: profileId };
  }

  async events(workspaceId: string, profileId: string, limit?: number, cursor?: string): Promise<ProfileEventsView> {
    const after = cursor ? decodeCursor(cursor) : undefined;
    const profile = await this.resolve(workspaceId, profileId);
    const size = limit ?? DEFAULT_EVENTS_PAGE;
    const rows = await this.repository.pageEvents(workspaceId, profile.id, size + 1, after);
    const page = rows.slice(0, size);
    const last = page[page.length - 1];
    return {
      items: page.map((row) => ({ ...row, id: row.id.toString() })),
      nextCursor: rows.length > size && last ? encodeCursor(last) : null,
    };
  }

  /**
   * Erases the person: the profile (or, for a merged-away id, its survivor) and every profile
   * merged into it. Later events with the same ids start a new profile.
   */
  async erase(workspaceId: string, profileId: string): Promise<ErasureView> {
    const profile = await this.resolve(workspaceId, profileId);
    return this.transactions.run(async (tx) => {
      // Holding the survivor's row lock, no merge into it and no ingest onto it can run: an ingest
      // either committed first (its events are erased too) or will find the profile gone.
      if (!(await this.repository.lockProfile(tx, workspaceId, profile.id))) throw new ProfileNotFoundError();
      const family = await this.repository.profileFamily(tx, workspaceId, profile.id);
      return this.repository.erase(tx, workspaceId, family);
    });
  }

  private async resolve(workspaceId: string, profileId: string): Promise<ProfileRow> {
    const profile = await this.repository.findProfile(workspaceId, profileId);
    if (!profile) throw new ProfileNotFoundError();
    if (profile.mergedIntoId === null) return profile;
    const survivor = await this.repository.findProfile(workspaceId, profile.mergedIntoId);
    if (!survivor) throw new ProfileNotFoundError();
    return survivor;
  }

  private async view(workspaceId: string, profile: ProfileRow): Promise<ProfileView> {
    const [identities, merges, memberships, groups, computedTraits] = await Promise.all([
      this.repository.listIdentities(workspaceId, profile.id),
      this.repository.listMerges(workspaceId, profile.id),
      this.repository.listMemberships(workspaceId, profile.id),
      this.repository.listGroups(workspaceId, profile.id),
      this.repository.computedTraits(workspaceId, profile.id),
    ]);
    return {
      id: profile.id,
      traits: profile.traits,
      computedTraits,
      firstSeenAt: profile.firstSeenAt,
      lastSeenAt: profile.lastSeenAt,
      createdAt: profile.createdAt,
      mergeCount: profile.mergeCount,
      identities,
      merges: merges.map((m) => ({
        fromProfileId: m.fromProfileId,
        intoProfileId: m.intoProfileId,
        identifiers: m.identifiers,
        at: m.createdAt,
      })),
      memberships,
      groups,
    };
  }
}
