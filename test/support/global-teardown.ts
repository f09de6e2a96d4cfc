import { cleanUpFinishedRuns, cleanUpRun } from './cleanup';
import { report } from './global-setup';
import { RUN_VARIABLE } from './test-run';

/**
 * Jest's global teardown, after every test file, passed or failed: kills the processes this run's
 * tests started, drops its databases (the template too) and deletes its Redis prefixes; then does
 * the same for runs that finished without cleaning up.
 */
export default async function globalTeardown(): Promise<void> {
  const runId = process.env[RUN_VARIABLE];
  if (runId) {
    try {
      await cleanUpRun(runId);
    } catch (error) {
      process.stderr.write(
        `could not clean up test run ${runId} (${error instanceof Error ? error.message : String(error)}); ` +
          'the next run removes what is left\n',
      );
    }
  }
  await report('left behind', cleanUpFinishedRuns());
  // A test that left a handle open (an app it did not close) would keep Jest alive for ever when it
  // runs in band; Jest says so a second after the results ("Jest did not exit…"), this ends it. The
  // timer keeps nothing alive, and Jest's exit code stands.
  setTimeout(() => process.exit(), 10_000).unref();
}
