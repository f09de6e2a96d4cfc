import { ChildProcess, spawn, SpawnOptions } from 'node:child_process';
import { join } from 'node:path';

import { CHILD_VARIABLE, currentRunId, registerChild, unregisterChild } from './test-run';
import { waitFor } from './wait-for';

export const ROOT = join(__dirname, '..', '..');

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Children started in this test file and not yet exited (killed after the file, whatever happened). */
const running = new Set<ChildProcess>();

/**
 * Starts a process of the test run: marked with the run's id in its environment and registered, so
 * the run's cleanup finds it even if the test that started it timed out or crashed.
 */
export function spawnTracked(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const runId = currentRunId();
  const env = runId ? { ...options.env, [CHILD_VARIABLE]: runId } : options.env;
  const child = spawn(command, args, { ...options, env });
  const pid = child.pid;
  if (pid !== undefined) {
    if (runId) registerChild(runId, pid);
    running.add(child);
    child.once('exit', () => {
      running.delete(child);
      if (runId) unregisterChild(runId, pid);
    });
  }
  return child;
}

/** Kills every child this file started that is still running, and waits until they are gone. */
export async function killChildren(): Promise<number> {
  const left = [...running];
  await Promise.all(
    left.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  return left.length;
}

/**
 * Runs a TypeScript entry point (src/main.ts, src/cli.ts…) as its own process, as `npm run` would,
 * with exactly `env` and no env file: ENV_FILE=none unless `env` sets it (a test of ENV_FILE itself).
 * `cwd` is the repository unless given (the working directory is where `.env` would be read from).
 */
export function runTs(
  entry: string,
  args: string[],
  env: Record<string, string>,
  { cwd = ROOT }: { cwd?: string } = {},
): Running {
  const child = spawnTracked(
    process.execPath,
    ['-r', require.resolve('@swc-node/register'), join(ROOT, entry), ...args],
    {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
        ENV_FILE: 'none',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Running(child);
}

export class Running {
  stdout = '';
  stderr = '';
  readonly finished: Promise<Finished>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.finished = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr })),
    );
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /**
   * Waits until the process prints `text` (start-up, say). Fails at once if the process exits
   * first, with its output, rather than at a deadline; the deadline is only for a hung process.
   */
  async waitForOutput(text: string, { timeoutMs = 60_000 } = {}): Promise<void> {
    await waitFor(
      () => {
        if (this.stdout.includes(text)) return true;
        if (this.exited) {
          throw new ExitedError(
            `process exited (${String(this.child.exitCode ?? this.child.signalCode)}) before printing "${text}"\n${this.stderr}`,
          );
        }
        return false;
      },
      { timeoutMs, what: `"${text}" from ${this.child.spawnfile}`, failOn: (error) => error instanceof ExitedError },
    );
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.child.kill(signal);
  }
}

class ExitedError extends Error {}
