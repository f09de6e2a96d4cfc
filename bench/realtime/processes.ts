import { readFileSync } from 'node:fs';

import type { Client } from 'pg';

import { Running, runTs } from '../../test/support/processes';

const TICKS_PER_SECOND = 100;

/** CPU (user + system) a process has used so far, in ms (Linux /proc; NaN elsewhere). */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    // Fields after the parenthesized command name: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** CPU used so far by the Postgres backends of each application_name, by pid. */
export async function backendCpuByApplication(sql: Client): Promise<Map<string, Map<number, number>>> {
  const { rows } = await sql.query<{ pid: number; application: string }>(
    `SELECT pid, application_name AS application FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid()`,
  );
  const byApplication = new Map<string, Map<number, number>>();
  for (const { pid, application } of rows) {
    const used = processCpuMs(pid);
    if (Number.isNaN(used)) continue;
    if (!byApplication.has(application)) byApplication.set(application, new Map());
    byApplication.get(application)!.set(pid, used);
  }
  return byApplication;
}

/**
 * CPU of each application's Postgres backends over a window, read every second: a backend that
 * appears counts from zero (its whole life is inside the window), one that ends counts up to its
 * last reading — pools close idle connections, so two readings at the ends would lose them.
 */
export class BackendCpuMeter {
  private readonly start = new Map<number, number>();
  private readonly last = new Map<number, { application: string; ms: number }>();

  private constructor() {}

  static async begin(sql: Client): Promise<BackendCpuMeter> {
    const meter = new BackendCpuMeter();
    for (const pids of (await backendCpuByApplication(sql)).values()) {
      for (const [pid, ms] of pids) meter.start.set(pid, ms);
    }
    await meter.read(sql);
    return meter;
  }

  async read(sql: Client): Promise<void> {
    for (const [application, pids] of await backendCpuByApplication(sql)) {
      for (const [pid, ms] of pids) this.last.set(pid, { application, ms });
    }
  }

  /** Milliseconds of CPU the application's backends used since begin(). */
  used(application: string): number {
    let total = 0;
    for (const [pid, reading] of this.last) {
      if (reading.application === application) total += reading.ms - (this.start.get(pid) ?? 0);
    }
    return total;
  }
}

/** `postgresql://…?application_name=…`, so that Postgres CPU can be told apart per process. */
export function withApplicationName(url: string, application: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', application);
  return parsed.toString();
}

/** Starts Personae (src/main.ts) as its own process and waits until it serves or processes jobs. */
export async function startPersonae(env: Record<string, string>, timeoutMs = 120_000): Promise<Running> {
  const running = runTs('src/main.ts', [], env);
  const deadline = Date.now() + timeoutMs;
  while (!/listening on|processing jobs/.test(running.stdout)) {
    if (running.child.exitCode !== null || Date.now() > deadline) {
      running.kill('SIGKILL');
      throw new Error(`Personae (${env.ROLE}) did not start:\n${running.stdout}\n${running.stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return running;
}

export async function stopPersonae(running: Running): Promise<void> {
  if (running.child.exitCode !== null) return;
  running.kill('SIGTERM');
  const timer = setTimeout(() => running.kill('SIGKILL'), 15_000);
  await running.finished;
  clearTimeout(timer);
}
