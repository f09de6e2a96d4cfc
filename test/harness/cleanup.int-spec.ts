import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Redis from 'ioredis';
import { Client } from 'pg';

import { cleanUpFinishedRuns, cleanUpRun, leftovers } from '../support/cleanup';
import { Running, runTs } from '../support/processes';
import { TEST_REDIS_URL, TEST_SERVER_URL } from '../support/servers';
import { currentRunId, isProcessAlive, isRunAlive, readOwner, registeredRuns } from '../support/test-run';
import { waitFor } from '../support/wait-for';

/**
 * The cleanup that the global teardown and setup run: a run in another process creates a database,
 * a Redis key and a child process; while it runs, nothing of it is touched; once it is killed (as
 * an interrupted `npm test` is), everything it made is removed, and nothing of this run.
 *
 * That run registers in a registry of this test's own: the runs that share the machine (another
 * `npm test` side by side) must not clean it up before this test looks, and do not, since they only
 * remove what runs registered in their registry left behind.
 */
describe('test run cleanup', () => {
  let server: Client;
  let redis: Redis;
  let registry: string;
  const sharedRegistry = process.env.PERSONAE_TEST_RUNS_DIR;

  beforeAll(async () => {
    registry = mkdtempSync(join(tmpdir(), 'personae-test-runs-'));
    process.env.PERSONAE_TEST_RUNS_DIR = registry;
    server = new Client({ connectionString: TEST_SERVER_URL });
    await server.connect();
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    await server.end();
    redis.disconnect();
    if (sharedRegistry === undefined) delete process.env.PERSONAE_TEST_RUNS_DIR;
    else process.env.PERSONAE_TEST_RUNS_DIR = sharedRegistry;
    rmSync(registry, { recursive: true, force: true });
  });

  const databaseExists = async (name: string) =>
    ((await server.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount ?? 0) > 0;

  interface Made {
    runId: string;
    database: string;
    prefix: string;
    child: number;
  }

  async function startRun(): Promise<{ owner: Running; made: Made }> {
    const owner = runTs('test/harness/fixtures/abandoned-run.ts', [], { PERSONAE_TEST_RUNS_DIR: registry });
    await owner.waitForOutput('"child"');
    return { owner, made: JSON.parse(owner.stdout.trim()) as Made };
  }

  it('leaves a run that is still going alone, and removes all of it once its process is gone', async () => {
    const { owner, made } = await startRun();
    expect(made.runId).not.toBe(currentRunId());
    expect(made.database).toContain(made.runId);
    expect(made.prefix).toContain(made.runId);
    expect(readOwner(made.runId)?.pid).toBe(owner.child.pid);

    expect(isRunAlive(made.runId)).toBe(true);
    expect((await leftovers()).map((left) => left.runId)).not.toContain(made.runId);
    await cleanUpFinishedRuns();
    expect(await databaseExists(made.database)).toBe(true);
    expect(await redis.exists(`${made.prefix}:compute:meta`)).toBe(1);
    expect(isProcessAlive(made.child)).toBe(true);

    owner.kill('SIGKILL');
    await owner.finished;
    expect(isRunAlive(made.runId)).toBe(false);
    const left = (await leftovers()).find((l) => l.runId === made.runId);
    expect(left).toEqual({
      runId: made.runId,
      processes: [made.child],
      databases: [made.database],
      redisKeys: 1,
      registered: true,
    });

    const cleaned = await cleanUpFinishedRuns();
    expect(cleaned).toContainEqual({
      runId: made.runId,
      processes: [made.child],
      databases: [made.database],
      redisKeys: 1,
    });
    expect(await databaseExists(made.database)).toBe(false);
    expect(await redis.exists(`${made.prefix}:compute:meta`)).toBe(0);
    await waitFor(() => !isProcessAlive(made.child), { what: 'the orphaned child to be gone' });
    expect(registeredRuns()).not.toContain(made.runId);
    expect((await leftovers()).map((l) => l.runId)).not.toContain(made.runId);
  });

  it('removes all of a run at its end, while its owner is still there (the global teardown)', async () => {
    const { owner, made } = await startRun();
    const cleaned = await cleanUpRun(made.runId);
    expect(cleaned).toEqual({ runId: made.runId, processes: [made.child], databases: [made.database], redisKeys: 1 });
    expect(await databaseExists(made.database)).toBe(false);
    expect(await redis.exists(`${made.prefix}:compute:meta`)).toBe(0);
    await waitFor(() => !isProcessAlive(made.child), { what: 'the child to be gone' });
    // The owner itself is the Jest process in a real run; here it is the test's child.
    expect(owner.exited).toBe(false);
  });
});
