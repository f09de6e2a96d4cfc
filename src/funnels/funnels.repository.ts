import { Injectable } from '@nestjs/common';

import { InteractiveDatabase } from '../database/interactive-database';
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

/** What a user narrows when a report runs past the interactive time limit. */
const STEPS_SUBJECT = {
  field: 'steps',
  narrow: 'a shorter period (from, to), fewer steps, step filters that match fewer events, or no breakdown',
};

@Injectable()
export class FunnelsRepository {
  constructor(private readonly interactive: InteractiveDatabase) {}

  /** The funnel's table for one period: everyone, and one row per breakdown bucket (interactive budget). */
  async report(query: FunnelQuery, period: FunnelPeriod): Promise<FunnelGroupRow[]> {
    return readFunnelRows(
      await this.interactive.query<RawFunnelRow>(query.workspaceId, funnelReportSql(query, period), STEPS_SUBJECT),
    );
  }
}
