import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { FunnelGroupRow } from '../../src/funnels/funnel-spec';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/**
 * Both queries' counts per step, for everyone and per breakdown value. The hand-written query has
 * no top N, so with at most `limit` values the two must agree row for row.
 */
export function compareCounts(
  ours: readonly FunnelGroupRow[],
  hand: readonly Record<string, unknown>[],
  steps: number,
): { agree: boolean; differences: string[] } {
  const key = (kind: string, value: string | null) => (kind === 'total' ? '(total)' : (value ?? '(none)'));
  const fromOurs = new Map(ours.map((r) => [key(r.kind, r.kind === 'none' ? null : r.value), r.counts.join(',')]));
  const fromHand = new Map(
    hand.map((r) => [
      key(r.total === true ? 'total' : 'value', (r.source as string | null) ?? null),
      Array.from({ length: steps }, (_, i) => Number(r[`c${i + 1}`])).join(','),
    ]),
  );
  const differences: string[] = [];
  for (const name of new Set([...fromOurs.keys(), ...fromHand.keys()])) {
    if (fromOurs.get(name) !== fromHand.get(name)) {
      differences.push(`${name}: personae ${fromOurs.get(name) ?? '-'} vs hand-written ${fromHand.get(name) ?? '-'}`);
    }
  }
  return { agree: differences.length === 0 && fromOurs.size > 0, differences };
}

interface Summary {
  dataset: { profiles: number; events: number };
  runs: number;
  medianMs: { personae: number; handWritten: number; personaeFullReport: number };
  ratio: number;
  countsAgree: boolean;
  totals: number[];
}

export function formatTable(s: Summary): string {
  const ms = (n: number) => `${n.toFixed(0)} ms`;
  const rows = [
    ['query', 'median', 'vs hand-written'],
    ['hand-written SQL (one period, by source)', ms(s.medianMs.handWritten), '1.00×'],
    ['Personae funnel SQL (same)', ms(s.medianMs.personae), `${s.ratio.toFixed(2)}×`],
    [
      'Personae full report (+ previous period)',
      ms(s.medianMs.personaeFullReport),
      `${(s.medianMs.personaeFullReport / s.medianMs.handWritten).toFixed(2)}×`,
    ],
  ];
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ');
  return [
    `funnel over ${s.dataset.profiles.toLocaleString('en-US')} profiles / ${s.dataset.events.toLocaleString('en-US')} events, ${s.runs} runs`,
    line(rows[0] ?? []),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
    `step counts ${s.totals.join(' → ')}; hand-written agrees: ${s.countsAgree ? 'yes' : 'NO'}`,
  ].join('\n');
}

export async function writeResults(summary: object, directory: string): Promise<string> {
  await mkdir(directory, { recursive: true });
  const path = join(directory, `funnel-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(path, `${JSON.stringify(summary, null, 2)}\n`);
  return path;
}
