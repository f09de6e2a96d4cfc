import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A test run is one `npm test`. Everything a run creates carries its id: database names (`…_<id>_…`), Redis prefixes
 * (`test-<id>-…`) and the environment of every child process (`PERSONAE_TEST_CHILD=<id>`). A run
 * registers itself in /tmp/personae-test-runs/<id>, with the pid of the process that owns it; the
 * cleanup removes what a run created when it ends, and what registered runs whose owner is gone left
 * behind, and nothing of a run that is still going (several runs share this machine).
 */

/** Set by the global setup for the Jest workers; a process without it starts a run of its own. */
export const RUN_VARIABLE = 'PERSONAE_TEST_RUN';
/** Set in the environment of every process a test starts, so the cleanup can find it by run. */
export const CHILD_VARIABLE = 'PERSONAE_TEST_CHILD';

/** `r` and ten hex digits: never a hex string, so names of older harnesses never match. */
export const RUN_ID_PATTERN = /r[0-9a-f]{10}/;
const RUN_ID_ONLY = new RegExp(`^${RUN_ID_PATTERN.source}$`);

export function newRunId(): string {
  return `r${randomBytes(5).toString('hex')}`;
}

export function isRunId(value: string): boolean {
  return RUN_ID_ONLY.test(value);
}

/**
 * Where runs register, one directory per run. Not under $TMPDIR: a run started with another TMPDIR
 * must still find this run's entry, because only what registered runs left behind is removed
 * automatically.
 */
export function registryRoot(): string {
  return (
    process.env.PERSONAE_TEST_RUNS_DIR ?? join(process.platform === 'win32' ? tmpdir() : '/tmp', 'personae-test-runs')
  );
}

export function runDirectory(runId: string): string {
  return join(registryRoot(), runId);
}

export interface RunOwner {
  pid: number;
  /** The owner's start time as the kernel reports it (Linux), so a reused pid is not mistaken for it. */
  startTicks?: string;
  startedAt: string;
}

/** The start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), if readable. */
export function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields after it are plain.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Registers `runId` as owned by `pid` (the Jest process that runs the global setup). */
export function registerRun(runId: string, pid: number = process.pid): void {
  // Built aside and renamed into place, so that another run never sees a run without its owner.
  const building = join(registryRoot(), `.${runId}`);
  mkdirSync(join(building, 'pids'), { recursive: true });
  const owner: RunOwner = { pid, startTicks: processStartTicks(pid), startedAt: new Date().toISOString() };
  writeFileSync(join(building, 'owner.json'), JSON.stringify(owner));
  renameSync(building, runDirectory(runId));
}

export function readOwner(runId: string): RunOwner | undefined {
  try {
    return JSON.parse(readFileSync(join(runDirectory(runId), 'owner.json'), 'utf8')) as RunOwner;
  } catch {
    return undefined;
  }
}

/** Whether the run is still going: its owner process exists and is the same process (same start time). */
export function isRunAlive(runId: string): boolean {
  const owner = readOwner(runId);
  if (!owner) return false;
  if (!isProcessAlive(owner.pid)) return false;
  return owner.startTicks === undefined || owner.startTicks === processStartTicks(owner.pid);
}

export function registeredRuns(): string[] {
  try {
    return readdirSync(registryRoot()).filter(isRunId);
  } catch {
    return [];
  }
}

export function forgetRun(runId: string): void {
  rmSync(runDirectory(runId), { recursive: true, force: true });
}

/** Records a child process of the run (read back by the cleanup where /proc cannot be scanned). */
export function registerChild(runId: string, pid: number): void {
  try {
    writeFileSync(join(runDirectory(runId), 'pids', String(pid)), '');
  } catch {
    // The run directory is gone (the run is being cleaned up): the environment marker still finds it.
  }
}

export function unregisterChild(runId: string, pid: number): void {
  rmSync(join(runDirectory(runId), 'pids', String(pid)), { force: true });
}

export function registeredChildren(runId: string): number[] {
  try {
    return readdirSync(join(runDirectory(runId), 'pids'))
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    return [];
  }
}

/**
 * The id of the run this process belongs to: set by the global setup and inherited by the Jest
 * workers. A process outside Jest (a benchmark using the helpers) belongs to no run: what it
 * creates is named as before run ids and is its own to remove (BENCH_KEEP_DB keeps a database).
 */
export function currentRunId(): string | undefined {
  const given = process.env[RUN_VARIABLE];
  return given && isRunId(given) ? given : undefined;
}

/** A name part unique within the run. */
export function uniqueSuffix(bytes = 4): string {
  return randomBytes(bytes).toString('hex');
}
