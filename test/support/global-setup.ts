import { constants } from 'node:os';

import { cleanUpFinishedRuns, cleanUpRun } from './cleanup';
import { newRunId, registerRun, RUN_VARIABLE } from './test-run';

/**
 * Jest's global setup, in the Jest process before any worker starts: registers this run (the Jest
 * workers inherit its id through the environment), removes what finished runs left behind (one
 * that was interrupted or killed), and cleans up this run when Jest is interrupted, which skips
 * the global teardown.
 */
export default async function globalSetup(): Promise<void> {
  const runId = newRunId();
  registerRun(runId);
  process.env[RUN_VARIABLE] = runId;
  onInterrupt(runId);
  await report('left behind by finished test runs', cleanUpFinishedRuns());
}

function onInterrupt(runId: string): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: cleaning up test run ${runId}…\n`);
      // The registry entry stays: whatever a worker creates until it is gone, the next run's setup
      // removes, as it does when a server does not answer within the time given here.
      const exit = () => process.exit(128 + constants.signals[signal]);
      setTimeout(exit, 20_000).unref();
      cleanUpRun(runId, { workers: true, forget: false }).then(exit, exit);
    });
  }
}

/** Cleaning up never fails a run; it says what it removed, or why it could not. */
export async function report(what: string, cleaning: Promise<{ runId: string }[]>): Promise<void> {
  try {
    const cleaned = await cleaning;
    if (cleaned.length > 0) {
      process.stderr.write(`removed what ${cleaned.length} test run(s) ${what}: ${JSON.stringify(cleaned)}\n`);
    }
  } catch (error) {
    process.stderr.write(`could not clean up test runs (${error instanceof Error ? error.message : String(error)})\n`);
  }
}
