import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';

import { COMPUTE_JOB_NAME, COMPUTE_JOB_OPTIONS } from '../audiences/audience-jobs';
import { AudienceNotFoundError } from '../audiences/audiences.errors';
import { cursorBigInt, cursorDate, cursorParts } from '../common/cursor';
import { QueueName } from '../queues/queue-names';
import { ComputeQueuedView, DEFAULT_PAGE, MembersPageView, TransitionsPageView } from './membership.dto';
import { invalidCursor } from './membership.errors';
import { MembershipRepository, TransitionCursor } from './membership.repository';
import { ComputeAudienceJob, manualComputeJobId } from './membership-jobs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Cursors are opaque to clients: base64url of the last row's sort key. */
function encode(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function decode(cursor: string): string {
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

function memberCursor(cursor: string): string {
  const profileId = decode(cursor);
  if (!UUID.test(profileId)) throw invalidCursor();
  return profileId;
}

function transitionCursor(cursor: string): TransitionCursor {
  const [at, rawId] = cursorParts(cursor, 2) ?? [];
  const when = cursorDate(at);
  const id = cursorBigInt(rawId);
  if (!when || id === undefined) throw invalidCursor();
  return { at: when, id };
}

/** The membership API: members, the transition ledger, and on-demand computation. */
@Injectable()
export class MembershipQueryService {
  constructor(
    private readonly repository: MembershipRepository,
    @InjectQueue(QueueName.Compute) private readonly computeQueue: Queue<ComputeAudienceJob>,
  ) {}

  async members(
    workspaceId: string,
    audienceId: string,
    limit = DEFAULT_PAGE,
    cursor?: string,
  ): Promise<MembersPageView> {
    const after = cursor === undefined ? undefined : memberCursor(cursor);
    await this.requireAudience(workspaceId, audienceId);
    const rows = await this.repository.pageMembers(workspaceId, audienceId, limit, after);
    const last = rows[rows.length - 1];
    return {
      items: rows.map((row) => ({ profileId: row.profileId, enteredAt: row.enteredAt })),
      nextCursor: rows.length === limit && last ? encode(last.profileId) : null,
    };
  }

  async transitions(
    workspaceId: string,
    audienceId: string,
    options: { limit?: number; cursor?: string; profileId?: string },
  ): Promise<TransitionsPageView> {
    const limit = options.limit ?? DEFAULT_PAGE;
    const after = options.cursor === undefined ? undefined : transitionCursor(options.cursor);
    await this.requireAudience(workspaceId, audienceId);
    const rows = await this.repository.pageTransitions(workspaceId, audienceId, limit, {
      after,
      profileId: options.profileId,
    });
    const last = rows[rows.length - 1];
    return {
      items: rows.map((row) => ({
        id: row.id.toString(),
        profileId: row.profileId,
        kind: row.kind,
        at: row.at,
        audienceVersion: row.audienceVersion,
      })),
      nextCursor: rows.length === limit && last ? encode(`${last.at.toISOString()}|${last.id}`) : null,
    };
  }

  async requestCompute(workspaceId: string, audienceId: string): Promise<ComputeQueuedView> {
    await this.requireAudience(workspaceId, audienceId);
    const jobId = manualComputeJobId(audienceId, Date.now());
    await this.computeQueue.add(
      COMPUTE_JOB_NAME,
      { workspaceId, audienceId, reason: 'manual' },
      { ...COMPUTE_JOB_OPTIONS, jobId },
    );
    return { status: 'queued', jobId };
  }

  private async requireAudience(workspaceId: string, audienceId: string): Promise<void> {
    if (!(await this.repository.audienceExists(workspaceId, audienceId))) throw new AudienceNotFoundError();
  }
}
