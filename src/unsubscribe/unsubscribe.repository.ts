import { Injectable } from '@nestjs/common';

import { PrismaService } from '../prisma/prisma.service';

@Injectable()
export class UnsubscribeRepository {
  constructor(private readonly prisma: PrismaService) {}

  async workspaceName(workspaceId: string): Promise<string | undefined> {
    const rows = await this.prisma.$queryRaw<{ name: string }[]>`
      SELECT name FROM workspaces WHERE id = ${workspaceId}::uuid`;
    return rows[0]?.name;
  }

  /**
   * Suppresses the address for the whole workspace. An existing suppression keeps its reason (a
   * bounce stays a bounce). Answers false when the workspace no longer exists.
   */
  async suppress(workspaceId: string, email: string): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      INSERT INTO suppressions (id, workspace_id, email, reason, created_at)
      SELECT gen_random_uuid(), w.id, ${email}, 'unsubscribed', now() FROM workspaces w WHERE w.id = ${workspaceId}::uuid
      ON CONFLICT (workspace_id, email) DO UPDATE SET email = EXCLUDED.email
      RETURNING id`;
    return rows.length > 0;
  }
}
