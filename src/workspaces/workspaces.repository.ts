import { Injectable } from '@nestjs/common';
import type { CreatedCursor } from '../common/pagination';
import { PrismaService } from '../prisma/prisma.service';

export interface WorkspaceRow {
  id: string;
  name: string;
  createdAt: Date;
}

export interface SourceRow {
  id: string;
  workspaceId: string;
  name: string;
  writeKey: string;
  createdAt: Date;
}

export interface NewWorkspace {
  name: string;
  sourceName: string;
  writeKey: string;
  tokenName: string;
  tokenHash: string;
}

const workspaceFields = { id: true, name: true, createdAt: true } as const;
const sourceFields = { id: true, workspaceId: true, name: true, writeKey: true, createdAt: true } as const;

@Injectable()
export class WorkspacesRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Creates the workspace, its first source and its first API token together, or none of them. */
  async createWithCredentials(input: NewWorkspace): Promise<{ workspace: WorkspaceRow; source: SourceRow }> {
    return this.prisma.$transaction(async (tx) => {
      const workspace = await tx.workspace.create({ data: { name: input.name }, select: workspaceFields });
      const source = await tx.source.create({
        data: { workspaceId: workspace.id, name: input.sourceName, writeKey: input.writeKey },
        select: sourceFields,
      });
      await tx.apiToken.create({
        data: { workspaceId: workspace.id, name: input.tokenName, tokenHash: input.tokenHash },
      });
      return { workspace, source };
    });
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
    return this.prisma.source.findMany({
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
  }

  async createSource(workspaceId: string, name: string, writeKey: string): Promise<SourceRow> {
    return this.prisma.source.create({ data: { workspaceId, name, writeKey }, select: sourceFields });
  }

  async findSourceByWriteKey(writeKey: string): Promise<SourceRow | null> {
    return this.prisma.source.findUnique({ where: { writeKey }, select: sourceFields });
  }
}
