import { Injectable } from '@nestjs/common';

import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';

export const QUARANTINE_KINDS = ['rejected', 'warning'] as const;
export type QuarantineKind = (typeof QUARANTINE_KINDS)[number];

export interface QuarantineRow {
  id: string;
  sourceId: string | null;
  kind: string;
  reason: string;
  type: string | null;
  messageId: string | null;
  message: Prisma.JsonValue;
  envelope: Prisma.JsonValue;
  errors: Prisma.JsonValue;
  warnings: Prisma.JsonValue;
  receivedAt: Date;
  createdAt: Date;
}

/** The last row of a page, newest first: the next page starts after it. */
export interface QuarantineCursor {
  receivedAt: Date;
  id: string;
}

export interface QuarantineFilter {
  sourceId?: string;
  kind?: QuarantineKind;
}

const fields = {
  id: true,
  sourceId: true,
  kind: true,
  reason: true,
  type: true,
  messageId: true,
  message: true,
  envelope: true,
  errors: true,
  warnings: true,
  receivedAt: true,
  createdAt: true,
} as const;

/** Listing, reading and deleting quarantine entries; ingest writes them (TrackingRepository). */
@Injectable()
export class QuarantineRepository {
  constructor(private readonly prisma: PrismaService) {}

  async page(
    workspaceId: string,
    filter: QuarantineFilter,
    limit: number,
    after?: QuarantineCursor,
  ): Promise<QuarantineRow[]> {
    return this.prisma.quarantine.findMany({
      where: {
        workspaceId,
        ...(filter.sourceId === undefined ? {} : { sourceId: filter.sourceId }),
        ...(filter.kind === undefined ? {} : { kind: filter.kind }),
        ...(after
          ? {
              OR: [{ receivedAt: { lt: after.receivedAt } }, { receivedAt: after.receivedAt, id: { lt: after.id } }],
            }
          : {}),
      },
      orderBy: [{ receivedAt: 'desc' }, { id: 'desc' }],
      take: limit,
      select: fields,
    });
  }

  async find(workspaceId: string, id: string): Promise<QuarantineRow | null> {
    return this.prisma.quarantine.findFirst({ where: { id, workspaceId }, select: fields });
  }

  /** False when the workspace has no such entry. */
  async delete(workspaceId: string, id: string): Promise<boolean> {
    const { count } = await this.prisma.quarantine.deleteMany({ where: { id, workspaceId } });
    return count > 0;
  }
}
