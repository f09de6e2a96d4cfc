import { Injectable, NotFoundException } from '@nestjs/common';

import { Clock } from '../common/clock';
import { decodeKeyCursor, DEFAULT_PAGE_SIZE, encodeKeyCursor, pageFrom, PageRequest } from '../common/pagination';
import {
  ACCOUNT_MEMBERS_SHOWN,
  AccountListView,
  AccountSummaryView,
  AccountView,
  ACTIVE_MEMBER_DAYS,
} from './accounts.dto';
import { AccountRow, AccountsRepository } from './accounts.repository';

const DAY_MS = 86_400_000;

/** Also what another workspace's token gets: 404 and no data. */
export class AccountNotFoundError extends NotFoundException {
  constructor() {
    super('account not found');
  }
}

/** Accounts: the groups of `group` calls, their members and their account audiences. */
@Injectable()
export class AccountsService {
  constructor(
    private readonly repository: AccountsRepository,
    private readonly clock: Clock,
  ) {}

  async list(workspaceId: string, page: PageRequest = {}): Promise<AccountListView> {
    const limit = page.limit ?? DEFAULT_PAGE_SIZE;
    const after = page.cursor === undefined ? undefined : decodeKeyCursor(page.cursor);
    const rows = await this.repository.list(workspaceId, limit + 1, after);
    return pageFrom(rows, limit, (row) => encodeKeyCursor(row.groupId), summary);
  }

  async get(workspaceId: string, groupId: string): Promise<AccountView> {
    const row = await this.repository.find(workspaceId, groupId);
    if (!row) throw new AccountNotFoundError();
    const now = this.clock.now();
    const [members, active, audiences, scores, computedTraits] = await Promise.all([
      this.repository.members(workspaceId, row.id, ACCOUNT_MEMBERS_SHOWN),
      this.repository.activeMembers(workspaceId, row.id, new Date(now.getTime() - ACTIVE_MEMBER_DAYS * DAY_MS), now),
      this.repository.audiences(workspaceId, row.id),
      this.repository.scores(workspaceId, row.id),
      this.repository.computedTraits(workspaceId, row.id),
    ]);
    return {
      ...summary(row),
      id: row.id,
      activeMembers14d: active,
      computedTraits,
      members: members.map((m) => ({
        profileId: m.profileId,
        traits: m.traits,
        identities: m.identities,
        joinedAt: m.joinedAt.toISOString(),
        lastSeenAt: m.lastSeenAt.toISOString(),
      })),
      audiences: audiences.map((a) => ({
        audienceId: a.audienceId,
        audienceKey: a.audienceKey,
        enteredAt: a.enteredAt.toISOString(),
      })),
      scores: Object.fromEntries(scores.map((sc) => [sc.key, { value: sc.value, band: sc.band }])),
    };
  }
}

function summary(row: AccountRow): AccountSummaryView {
  return {
    groupId: row.groupId,
    traits: row.traits,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    memberCount: row.memberCount,
  };
}
