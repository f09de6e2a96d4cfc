import { Injectable } from '@nestjs/common';

import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';

@Injectable()
export class WorkspaceSettingsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The stored settings JSON as it is (validated by the caller), or undefined for no such workspace. */
  async find(workspaceId: string): Promise<{ settings: unknown } | undefined> {
    const workspace = await this.prisma.workspace.findUnique({
      where: { id: workspaceId },
      select: { settings: true },
    });
    return workspace ?? undefined;
  }

  /**
   * Replaces the stored settings with what `change` makes of them, holding the row lock in between
   * so that two concurrent PATCHes both apply. `change` may throw, which changes nothing.
   */
  async modify(
    workspaceId: string,
    change: (stored: unknown) => Prisma.InputJsonObject,
  ): Promise<{ settings: unknown } | undefined> {
    return this.prisma.$transaction(
      async (tx) => {
        const [row] = await tx.$queryRaw<{ settings: unknown }[]>`
          SELECT settings FROM workspaces WHERE id = ${workspaceId}::uuid FOR UPDATE`;
        if (!row) return undefined;
        const settings = change(row.settings);
        await tx.workspace.update({ where: { id: workspaceId }, data: { settings } });
        return { settings };
      },
      { maxWait: 10_000, timeout: 30_000 },
    );
  }
}
