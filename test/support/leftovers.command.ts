import { cleanUpFinishedRuns, cleanUpRun, leftovers, resourcesByRun } from './cleanup';
import { isRunAlive } from './test-run';

/**
 * `npm run test:leftovers`: lists what finished test runs left behind (processes, databases, Redis
 * keys) and exits 1 if there is anything; `-- --clean` removes it. Runs still going are shown but
 * never touched. After any `npm test` (passed, failed or interrupted) it should find nothing of it.
 */
async function main(): Promise<void> {
  const clean = process.argv.includes('--clean');
  const all = await resourcesByRun();
  for (const resources of all.values()) {
    if (isRunAlive(resources.runId)) {
      process.stdout.write(
        `running  ${resources.runId}: ${resources.processes.length} processes, ` +
          `${resources.databases.length} databases, ${resources.redisKeys} Redis keys (left alone)\n`,
      );
    }
  }
  const found = await leftovers();
  for (const left of found) {
    process.stdout.write(
      `${clean ? 'removing' : 'left    '} ${left.runId}${left.registered ? '' : ' (unregistered)'}: ` +
        `processes ${JSON.stringify(left.processes)}, databases ${JSON.stringify(left.databases)}, ` +
        `${left.redisKeys} Redis keys\n`,
    );
    if (clean) await cleanUpRun(left.runId, { workers: true });
  }
  // Registry entries of finished runs that left nothing go too.
  if (clean) await cleanUpFinishedRuns();
  if (found.length === 0) process.stdout.write('no leftovers of finished test runs\n');
  process.exitCode = found.length > 0 && !clean ? 1 : 0;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
