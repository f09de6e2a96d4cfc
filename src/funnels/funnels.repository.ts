import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service';
import { FunnelGroupRow, FunnelPeriod, FunnelQuery, GroupKind } from './funnel-spec';
import { funnelReportSql } from './funnel-sql';

/** A row as the driver hands it over (int and float8 arrays may arrive as numbers or strings). */
export interface RawFunnelRow {
  kind: string;
  value: string | null;
  counts: unknown[];
  medians: unknown[];
  p90s: unknown[];
}

const KINDS: readonly GroupKind[] = ['total', 'value', 'other', 'none'];

function nullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

export function readFunnelRows(rows: readonly RawFunnelRow[]): FunnelGroupRow[] {
  return rows.map((row) => {
    const kind = KINDS.find((k) => k === row.kind);
    if (!kind) throw new Error(`unexpected funnel row kind ${row.kind}`);
    return {
      kind,
      value: row.value,
      counts: row.counts.map((c) => Number(c)),
      medians: row.medians.map(nullableNumber),
      p90s: row.p90s.map(nullableNumber),
    };
  });
}

@Injectable()
export class FunnelsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The funnel's table for one period: everyone, and one row per breakdown bucket. */
  async report(query: FunnelQuery, period: FunnelPeriod): Promise<FunnelGroupRow[]> {
    return readFunnelRows(await this.prisma.$queryRaw<RawFunnelRow[]>(funnelReportSql(query, period)));
  }
}
