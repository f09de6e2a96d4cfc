import { Injectable } from '@nestjs/common';

import type { CreatedCursor } from '../common/pagination';
import { PrismaService } from '../prisma/prisma.service';

export interface WorkspaceRow {
  id: string;
  name: string;
  createdAt: Date;
}

export const SOURCE_VALIDATIONS = ['lenient', 'strict'] as const;
export type SourceValidation = (typeof SOURCE_VALIDATIONS)[number];

export interface SourceRow {
  id: string;
  workspaceId: string;
  name: string;
  writeKey: string;
  validation: SourceValidation;
  createdAt: Date;
}

export interface SourceChanges {
  name?: string;
  validation?: SourceValidation;
}

export interface NewWorkspace {
  name: string;
  sourceName: string;
  writeKey: string;
  tokenName: string;
  tokenHash: string;
}

const workspaceFields = { id: true, name: true, createdAt: true } as const;
const sourceFields = {
  id: true,
  workspaceId: true,
  name: true,
  writeKey: true,
  validation: true,
  createdAt: true,
} as const;

/** The column holds only these values (a CHECK constraint says so). */
function sourceRow<T extends { validation: string }>(row: T): T & { validation: SourceValidation } {
  return { ...row, validation: row.validation === 'strict' ? 'strict' : 'lenient' };
}

/** Prisma's defaults (2 s to start, 5 s to finish) are short on a busy server. */
const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 30_000 };

@Injectable()
export class WorkspacesRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Creates the workspace, its first source and its first API token together, or none of them. */
  async createWithCredentials(input: NewWorkspace): Promise<{ workspace: WorkspaceRow; source: SourceRow }> {
    return this.prisma.$transaction(async (tx) => {
      const workspace = await tx.workspace.create({ data: { name: input.name }, select: workspaceFields });
      const source = sourceRow(
        await tx.source.create({
          data: { workspaceId: workspace.id, name: input.sourceName, writeKey: input.writeKey },
          select: sourceFields,
        }),
      );
      await tx.apiToken.create({
        data: { workspaceId: workspace.id, name: input.tokenName, tokenHash: input.tokenHash },
      });
      return { workspace, source };
    }, TRANSACTION_OPTIONS);
  }

  async findWorkspaceIdByTokenHash(tokenHash: string): Promise<string | undefined> {
    const token = await this.prisma.apiToken.findUnique({ where: { tokenHash }, select: { workspaceId: true } });
    return token?.workspaceId;
  }

  async findWorkspace(workspaceId: string): Promise<WorkspaceRow | null> {
    return this.prisma.workspace.findUnique({ where: { id: workspaceId }, select: workspaceFields });
  }

  async findWorkspaceByName(name: string): Promise<WorkspaceRow | null> {
    return this.prisma.workspace.findFirst({ where: { name }, orderBy: { createdAt: 'asc' }, select: workspaceFields });
  }

  async createApiToken(workspaceId: string, name: string, tokenHash: string): Promise<void> {
    await this.prisma.apiToken.create({ data: { workspaceId, name, tokenHash } });
  }

  /** Oldest first, `take` rows after `after` (keyset on created_at, id). */
  async listSources(workspaceId: string, take: number, after?: CreatedCursor): Promise<SourceRow[]> {
    const rows = await this.prisma.source.findMany({
      where: {
        workspaceId,
        ...(after && {
          OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }],
        }),
      },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take,
      select: sourceFields,
    });
    return rows.map(sourceRow);
  }

  async createSource(
    workspaceId: string,
    name: string,
    writeKey: string,
    validation: SourceValidation = 'lenient',
  ): Promise<SourceRow> {
    return sourceRow(
      await this.prisma.source.create({ data: { workspaceId, name, writeKey, validation }, select: sourceFields }),
    );
  }

  async findSourceByWriteKey(writeKey: string): Promise<SourceRow | null> {
    const row = await this.prisma.source.findUnique({ where: { writeKey }, select: sourceFields });
    return row && sourceRow(row);
  }

  async findSource(workspaceId: string, sourceId: string): Promise<SourceRow | null> {
    const row = await this.prisma.source.findFirst({ where: { id: sourceId, workspaceId }, select: sourceFields });
    return row && sourceRow(row);
  }

  /** Null when the workspace has no such source. */
  async updateSource(workspaceId: string, sourceId: string, changes: SourceChanges): Promise<SourceRow | null> {
    const { count } = await this.prisma.source.updateMany({ where: { id: sourceId, workspaceId }, data: changes });
    return count === 0 ? null : this.findSource(workspaceId, sourceId);
  }
}
