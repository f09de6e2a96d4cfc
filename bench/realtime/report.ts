import type { ResolvedDatasetOptions } from '../../src/demo/generator/dataset';
import type { PhaseResult } from './phase';
import type { ProbeResult } from './probe';
import type { FullCounts } from './setup';

/** The goals of issue 14, printed next to what was measured. */
export const GOALS = {
  ingestEventsPerSecond: 5_000,
  probeP95Ms: 1_000,
  probeP99Ms: 2_000,
  quietP95Ms: 150,
};

export interface RealtimeReport {
  kind: 'bench-realtime';
  startedAt: string;
  settings: Record<string, number>;
  dataset: ResolvedDatasetOptions;
  database: string;
  machine: Record<string, unknown> & { loadavg: Record<string, number[]> };
  quiet: ProbeResult;
  phases: PhaseResult[];
  fullCounts: FullCounts;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const n0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const n1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const ok = (pass: boolean) => (pass ? 'yes' : 'NO');

/** Bounded: the backlog grew by less than one batch a second over the load's second half, or drained. */
export function levelledOff(phase: PhaseResult, batchSize: number): boolean {
  return phase.backlogSlopePerSecond < batchSize || phase.backlogAtEnd < batchSize;
}

export function formatReport(report: RealtimeReport): string {
  const batchSize = report.settings.evaluationBatchSize ?? 500;
  const rows: string[][] = [
    [
      'single call, quiet: event → entered p95 ms',
      `≤ ${GOALS.quietP95Ms}`,
      n1(report.quiet.ms.p95),
      ok(report.quiet.ms.p95 <= GOALS.quietP95Ms),
    ],
  ];
  for (const phase of report.phases) {
    rows.push(
      [
        `${phase.name}: ingest events/s`,
        `≥ ${n0(GOALS.ingestEventsPerSecond)}`,
        n0(phase.ingestEventsPerSecond),
        ok(phase.ingestEventsPerSecond >= GOALS.ingestEventsPerSecond),
      ],
      [`  changed profiles evaluated/s`, '≥ ingest', n0(phase.evaluatedPerSecond), ''],
      [
        `  backlog growth, 2nd half (changes/s)`,
        `< ${batchSize}`,
        n1(phase.backlogSlopePerSecond),
        ok(levelledOff(phase, batchSize)),
      ],
      [`  backlog max / at end of load`, '', `${n0(phase.backlogMax)} / ${n0(phase.backlogAtEnd)}`, ''],
      [`  drained after the load (s)`, '', phase.drainSeconds === null ? 'no' : n1(phase.drainSeconds), ''],
    );
    for (const [name, probe] of Object.entries(phase.probes)) {
      rows.push(
        [
          `  ${name}: event → entered p50 / p95 ms`,
          `p95 ≤ ${GOALS.probeP95Ms}`,
          `${n0(probe.ms.p50)} / ${n0(probe.ms.p95)}`,
          ok(probe.ms.p95 <= GOALS.probeP95Ms),
        ],
        [
          `  ${name}: p99 / max ms (${probe.samples} probes, ${probe.timeouts} timeouts)`,
          `p99 ≤ ${GOALS.probeP99Ms}`,
          `${n0(probe.ms.p99)} / ${n0(probe.ms.max)}`,
          ok(probe.ms.p99 <= GOALS.probeP99Ms),
        ],
      );
    }
  }
  const cost: string[][] = report.phases.map((phase) => {
    const total = phase.cpu.workerMsPer1000 + phase.cpu.workerPostgresMsPer1000;
    return [
      phase.name,
      n0(phase.cpu.evaluatedChanges),
      n1(phase.cpu.workerMsPer1000),
      n1(phase.cpu.workerPostgresMsPer1000),
      n1(total),
      n1(report.fullCounts.postgresCpuMsPer1000Profiles),
      `${n1(total / report.fullCounts.postgresCpuMsPer1000Profiles)}×`,
    ];
  });
  const k = (n: number) => (n >= 1_000 ? `${(n / 1_000).toFixed(1)}k` : `${n}`);
  const series = report.phases.map((phase) => {
    const every5 = phase.samples.filter((sample, i) => i % 5 === 0 || i === phase.samples.length - 1);
    return `${phase.name}: ${every5.map((sample) => k(sample.live + sample.bulk)).join(' ')}`;
  });
  const load = report.machine.loadavg;
  return [
    `\nreal-time evaluation, ${n0(report.dataset.profiles)} profiles / ${n0(report.dataset.events)} events, 20 audiences, ` +
      `ingest ${report.settings.rate ? `paced at ${n0(report.settings.rate)} events/s` : 'as fast as the API answers'}, ` +
      `load average ${Object.entries(load)
        .map(([k, v]) => `${k} ${v.map((x) => x.toFixed(1)).join(' ')}`)
        .join('; ')}`,
    table(['', 'goal', 'measured', 'met'], rows),
    '\nbacklog of the heavy workspace every 5 s (load, then drain)',
    ...series,
    '\nCPU per 1,000 evaluated profiles (worker process and its Postgres backends, drain included) vs the same 20 audiences counted in full',
    table(
      ['', 'evaluated', 'worker ms', 'postgres ms', 'total ms', 'full count ms', 'ratio'],
      [
        ...cost,
        [
          `full counts: ${n0(report.fullCounts.profiles)} profiles in ${n1(report.fullCounts.seconds)} s`,
          '',
          '',
          n0(report.fullCounts.postgresCpuMs),
          '',
          n1(report.fullCounts.postgresCpuMsPer1000Profiles),
          '1.0×',
        ],
      ],
    ),
  ].join('\n');
}
