import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';

import { cursorDate, cursorParts, cursorUuid } from '../common/cursor';
import { badRequestFor } from '../common/validation';
import { MESSAGE_TYPES, MessageType } from '../tracking/tracking.dto';
import { TrackingService } from '../tracking/tracking.service';
import { DEFAULT_QUARANTINE_PAGE, QuarantineEntryView, QuarantinePageView, ReplayView } from './quarantine.dto';
import { QuarantineCursor, QuarantineFilter, QuarantineRepository, QuarantineRow } from './quarantine.repository';

/** Cursors are opaque to clients: base64url of the last row's sort key. */
export function encodeQuarantineCursor(row: Pick<QuarantineRow, 'receivedAt' | 'id'>): string {
  return Buffer.from(`${row.receivedAt.toISOString()}|${row.id}`).toString('base64url');
}

export function decodeQuarantineCursor(cursor: string): QuarantineCursor {
  const [at, rawId] = cursorParts(cursor, 2) ?? [];
  const receivedAt = cursorDate(at);
  const id = cursorUuid(rawId);
  if (!receivedAt || !id) throw badRequestFor([{ field: 'cursor', reason: 'is not a cursor this API returned' }]);
  return { receivedAt, id };
}

class QuarantineEntryNotFoundError extends NotFoundException {
  constructor() {
    super('quarantine entry not found');
  }
}

function typeOf(value: string | null): MessageType | null {
  return value !== null && (MESSAGE_TYPES as readonly string[]).includes(value) ? (value as MessageType) : null;
}

function view(row: QuarantineRow): QuarantineEntryView {
  return {
    id: row.id,
    sourceId: row.sourceId,
    kind: row.kind,
    reason: row.reason,
    type: row.type,
    messageId: row.messageId,
    message: row.message,
    envelope: row.envelope,
    errors: row.errors,
    warnings: row.warnings,
    receivedAt: row.receivedAt,
  };
}

@Injectable()
export class QuarantineService {
  constructor(
    private readonly repository: QuarantineRepository,
    private readonly tracking: TrackingService,
  ) {}

  async list(
    workspaceId: string,
    filter: QuarantineFilter,
    limit = DEFAULT_QUARANTINE_PAGE,
    cursor?: string,
  ): Promise<QuarantinePageView> {
    const after = cursor === undefined ? undefined : decodeQuarantineCursor(cursor);
    const rows = await this.repository.page(workspaceId, filter, limit + 1, after);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(view), nextCursor: rows.length > limit && last ? encodeQuarantineCursor(last) : null };
  }

  async get(workspaceId: string, id: string): Promise<QuarantineEntryView> {
    const row = await this.repository.find(workspaceId, id);
    if (!row) throw new QuarantineEntryNotFoundError();
    return view(row);
  }

  async delete(workspaceId: string, id: string): Promise<void> {
    if (!(await this.repository.delete(workspaceId, id))) throw new QuarantineEntryNotFoundError();
  }

  /** Stores the message (as corrected, or as it was) and removes the entry, together. */
  async replay(workspaceId: string, id: string, corrected?: Record<string, unknown>): Promise<ReplayView> {
    const row = await this.repository.find(workspaceId, id);
    if (!row) throw new QuarantineEntryNotFoundError();
    if (row.kind !== 'rejected') {
      throw new ConflictException('this message was stored (with a warning); there is nothing to replay, delete it');
    }
    const envelope = typeof row.envelope === 'object' && row.envelope !== null && !Array.isArray(row.envelope);
    return this.tracking.replay(
      {
        quarantineId: row.id,
        workspaceId,
        sourceId: row.sourceId,
        type: typeOf(row.type),
        message: row.message,
        envelope: envelope ? (row.envelope as Record<string, unknown>) : {},
        receivedAt: row.receivedAt,
      },
      corrected,
    );
  }
}
