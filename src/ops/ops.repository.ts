import { Injectable } from '@nestjs/common';

import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';

export interface AudienceFreshnessRow {
  workspaceId: string;
  id: string;
  key: string;
  status: string;
  memberCount: number;
  refreshIntervalSeconds: number;
  lastComputedAt: Date | null;
}

export interface DeliveryCountRow {
  workspaceId: string;
  destinationId: string;
  status: string;
  count: number;
}

export interface EvaluationBacklogRow {
  workspaceId: string;
  lane: 'live' | 'bulk';
  count: number;
  oldestAt: Date;
}

@Injectable()
export class OpsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async audiences(workspaceId?: string): Promise<AudienceFreshnessRow[]> {
    return this.prisma.audience.findMany({
      where: workspaceId ? { workspaceId } : {},
      select: {
        workspaceId: true,
        id: true,
        key: true,
        status: true,
        memberCount: true,
        refreshIntervalSeconds: true,
        lastComputedAt: true,
      },
      orderBy: { key: 'asc' },
    });
  }

  async deliveryCounts(workspaceId?: string, since?: Date): Promise<DeliveryCountRow[]> {
    const rows = await this.prisma.delivery.groupBy({
      by: ['workspaceId', 'destinationId', 'status'],
      where: { ...(workspaceId ? { workspaceId } : {}), ...(since ? { updatedAt: { gte: since } } : {}) },
      _count: { _all: true },
    });
    return rows.map((row) => ({
      workspaceId: row.workspaceId,
      destinationId: row.destinationId,
      status: row.status,
      count: row._count._all,
    }));
  }

  async destinations(workspaceId: string): Promise<{ id: string; name: string; type: string }[]> {
    return this.prisma.destination.findMany({ where: { workspaceId }, select: { id: true, name: true, type: true } });
  }

  async destinationIds(): Promise<string[]> {
    return (await this.prisma.destination.findMany({ select: { id: true } })).map((row) => row.id);
  }

  /** Profile changes not yet evaluated (claimed ones included) and the oldest one, per workspace and lane. */
  async evaluationBacklog(workspaceId?: string): Promise<EvaluationBacklogRow[]> {
    const only = workspaceId ? Prisma.sql`WHERE workspace_id = ${workspaceId}::uuid` : Prisma.empty;
    return this.prisma.$queryRaw<EvaluationBacklogRow[]>`
      SELECT workspace_id::text AS "workspaceId", lane::text AS lane, sum(cardinality(profile_ids))::int AS count,
             min(created_at) AS "oldestAt"
      FROM profile_changes ${only}
      GROUP BY workspace_id, lane ORDER BY workspace_id, lane`;
  }
}
