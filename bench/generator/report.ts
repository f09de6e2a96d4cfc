import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

import type { ResolvedDatasetOptions } from '../../src/demo/generator/dataset';
import type { DatasetStatsSnapshot } from './dataset-stats';
import type { WriteResult } from './writer';

/** The summary printed after a load and the JSON kept under bench/results for comparing runs. */

export interface DataReport {
  kind: 'bench-data';
  startedAt: string;
  dataset: ResolvedDatasetOptions;
  database: { url: string; created: boolean; serverVersion: string; migrationsApplied: string[] };
  machine: { node: string; platform: string; cpus: number; cpuModel: string; memoryGiB: number };
  load: WriteResult;
  rowsPerSecond: { events: number; all: number };
  stats: DatasetStatsSnapshot;
}

export function machineInfo(): DataReport['machine'] {
  const cores = cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cores.length,
    cpuModel: cores[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

/** Drops the password, if any, so reports can be shared. */
export function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

const count = (n: number): string => n.toLocaleString('en-US');
const secs = (n: number): string => n.toFixed(2);
const pct = (part: number, whole: number): string => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-');

export function formatSummary(report: DataReport): string {
  const { load, stats, dataset } = report;
  const tables = table(
    ['table', 'rows', 'seconds', 'rows/s'],
    [
      ...load.tables.map((t) => [t.table, count(t.rows), secs(t.seconds), count(t.rowsPerSecond)]),
      ['(index rebuild)', '', secs(load.seconds.indexes), ''],
      ['(analyze)', '', secs(load.seconds.analyze), ''],
      [
        'total',
        count(load.tables.reduce((sum, t) => sum + t.rows, 0)),
        secs(load.seconds.total),
        count(report.rowsPerSecond.all),
      ],
    ],
  );
  const funnelRows = [stats.funnels.signup, stats.funnels.shop].flatMap((steps) =>
    steps.map((step, index) => {
      const previous = index === 0 ? stats.profiles : (steps[index - 1]?.profiles ?? 0);
      return [step.event, count(step.profiles), pct(step.profiles, previous)];
    }),
  );
  const funnel = table(['profiles who performed', 'profiles', 'of previous step'], funnelRows);
  const shape = [
    `signed up ${count(stats.signedUp)} (${pct(stats.signedUp, stats.profiles)})`,
    `one-event visitors ${count(stats.oneEventVisitors)} (${pct(stats.oneEventVisitors, stats.profiles)})`,
    `inactive 30+ days ${count(stats.inactive30Days)} (${pct(stats.inactive30Days, stats.profiles)})`,
    `signed up but never viewed a tutorial ${count(stats.signedUpNeverViewedTutorial)}`,
    `top 1% of profiles hold ${pct(stats.top1PercentEventShare, 1)} of events (max ${count(stats.maxEventsPerProfile)} for one profile)`,
  ].join('\n');
  const checksums = load.tables
    .filter((t) => t.sha256 !== undefined)
    .map((t) => `${t.table.padEnd(10)} ${t.sha256 ?? ''}`)
    .join('\n');
  const header = [
    `dataset: seed ${dataset.seed}, now ${dataset.now}, ${dataset.months} months from ${dataset.windowStart}, workspace "${dataset.workspaceName}"`,
    `database: ${report.database.url} (${report.database.serverVersion}), existing data ${load.cleared}`,
  ].join('\n');
  const rebuilt = load.rebuiltIndexes.length > 0 ? `rebuilt after load: ${load.rebuiltIndexes.join(', ')}` : '';
  const sections = [
    header,
    tables,
    rebuilt,
    funnel,
    shape,
    checksums === '' ? '' : `sha256 of COPY text:\n${checksums}`,
  ];
  return sections.filter((section) => section !== '').join('\n\n');
}

export async function writeReport(report: DataReport, directory: string): Promise<string> {
  await mkdir(directory, { recursive: true });
  const path = join(directory, `data-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
