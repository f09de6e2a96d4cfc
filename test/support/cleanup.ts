import { readdirSync, readFileSync } from 'node:fs';

import Redis from 'ioredis';
import { Client } from 'pg';

import { TEST_REDIS_URL, TEST_SERVER_URL } from './servers';
import {
  CHILD_VARIABLE,
  forgetRun,
  isProcessAlive,
  isRunAlive,
  registeredChildren,
  registeredRuns,
  RUN_ID_PATTERN,
  RUN_VARIABLE,
} from './test-run';

/**
 * Finds and removes what test runs created: child processes, databases (the run's template too) and
 * Redis keys under the run's prefixes. `cleanUpRun` is the end of one run; `cleanUpFinishedRuns`
 * removes what runs whose owner process is gone left behind (interrupted, killed); `leftovers` only
 * looks, for a check after a run.
 */

export interface RunResources {
  runId: string;
  processes: number[];
  databases: string[];
  /** Redis keys under the run's `test-<run>-…` prefixes. */
  redisKeys: number;
}

const DATABASE_RUN = new RegExp(`(?:^|_)(${RUN_ID_PATTERN.source})(?:_|$)`);
const REDIS_RUN = new RegExp(`^test-(${RUN_ID_PATTERN.source})-`);

/** The run a database belongs to, if it was made by this harness. */
export function runOfDatabase(name: string): string | undefined {
  return DATABASE_RUN.exec(name)?.[1];
}

export function runOfRedisKey(key: string): string | undefined {
  return REDIS_RUN.exec(key)?.[1];
}

/** The environment a process was started with, or undefined where /proc cannot tell. */
function environmentOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

function hasProc(): boolean {
  try {
    readdirSync('/proc/self');
    return true;
  } catch {
    return false;
  }
}

/**
 * Processes of each run: those started by tests (marked with CHILD_VARIABLE) and, for runs that are
 * over, anything else started with the run's id (Jest workers orphaned by a killed run).
 */
function processesByRun(includeWorkers: (runId: string) => boolean): Map<string, number[]> {
  const found = new Map<string, Set<number>>();
  const add = (runId: string, pid: number) => {
    if (pid === process.pid) return;
    const set = found.get(runId) ?? new Set<number>();
    set.add(pid);
    found.set(runId, set);
  };
  if (hasProc()) {
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid <= 0) continue;
      for (const variable of environmentOf(pid) ?? []) {
        const [name, value = ''] = variable.split('=', 2);
        if (name === CHILD_VARIABLE && RUN_ID_PATTERN.test(value)) add(value, pid);
        if (name === RUN_VARIABLE && RUN_ID_PATTERN.test(value) && includeWorkers(value)) add(value, pid);
      }
    }
  } else {
    // Without /proc only the registry knows the children; a reused pid is the risk we accept there.
    for (const runId of registeredRuns()) {
      for (const pid of registeredChildren(runId)) if (isProcessAlive(pid)) add(runId, pid);
    }
  }
  return new Map([...found].map(([runId, pids]) => [runId, [...pids]]));
}

async function onServer<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: TEST_SERVER_URL });
  // A connection the server drops fails the query in progress; it must not crash the Jest process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function databasesByRun(): Promise<Map<string, string[]>> {
  const { rows } = await onServer((client) =>
    client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname ~ $1`, [DATABASE_RUN.source]),
  );
  const found = new Map<string, string[]>();
  for (const { datname } of rows) {
    const runId = runOfDatabase(datname);
    if (runId) found.set(runId, [...(found.get(runId) ?? []), datname]);
  }
  return found;
}

async function withRedis<T>(fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  await redis.connect();
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

/** Every Redis key of a test run, by run (SCAN, so a large Redis is not blocked). */
async function redisKeysByRun(redis: Redis, only?: string): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', only ? `test-${only}-*` : 'test-r*', 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const runId = runOfRedisKey(key);
      if (runId) found.set(runId, [...(found.get(runId) ?? []), key]);
    }
  } while (cursor !== '0');
  return found;
}

export interface Leftover extends RunResources {
  /** False when no registry entry says whose it was (the registry was wiped, or another machine's run). */
  registered: boolean;
}

/** What every run holds right now, alive or not. */
export async function resourcesByRun(): Promise<Map<string, RunResources>> {
  const processes = processesByRun((runId) => !isRunAlive(runId));
  const databases = await databasesByRun();
  const keys = await withRedis((redis) => redisKeysByRun(redis));
  const runs = new Set([...processes.keys(), ...databases.keys(), ...keys.keys()]);
  return new Map(
    [...runs].map((runId) => [
      runId,
      {
        runId,
        processes: processes.get(runId) ?? [],
        databases: databases.get(runId) ?? [],
        redisKeys: keys.get(runId)?.length ?? 0,
      },
    ]),
  );
}

/** What runs that are over left behind; a run that cleaned up after itself has nothing here. */
export async function leftovers(): Promise<Leftover[]> {
  const registered = new Set(registeredRuns());
  return [...(await resourcesByRun()).values()]
    .filter((resources) => !isRunAlive(resources.runId))
    .map((resources) => ({ ...resources, registered: registered.has(resources.runId) }));
}

async function killAll(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + 10_000;
  while (pids.some(isProcessAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

async function dropDatabases(names: string[]): Promise<void> {
  if (names.length === 0) return;
  const failed: string[] = [];
  await onServer(async (client) => {
    for (const name of names) {
      try {
        // A template cannot be dropped as such; ours are marked so that nothing connects to them.
        await client.query(`ALTER DATABASE "${name}" WITH IS_TEMPLATE false`).catch(() => undefined);
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } catch (error) {
        failed.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  });
  if (failed.length > 0) throw new Error(`could not drop ${failed.join('; ')}`);
}

async function deleteKeys(redis: Redis, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500));
}

export interface CleanUpOptions {
  /** Also kill processes that merely inherited the run's id (its Jest workers, when the run is over). */
  workers?: boolean;
  /** Remove the run's registry entry; left in place, the next run's setup looks again. */
  forget?: boolean;
}

/**
 * Removes everything of `runId`: its processes first (they hold connections), then its databases
 * and Redis keys, and last its registry entry (so an interrupted cleanup is retried by the next run).
 */
export async function cleanUpRun(runId: string, options: CleanUpOptions = {}): Promise<RunResources> {
  // One at a time per run: Ctrl-C can arrive while the global teardown is cleaning up, and the two
  // live in separately loaded modules of the Jest process, hence a registry on globalThis.
  const inFlight = inFlightCleanUps();
  const previous = inFlight.get(runId);
  const current = (previous ?? Promise.resolve()).catch(() => undefined).then(() => cleanUpOnce(runId, options));
  inFlight.set(runId, current);
  try {
    return await current;
  } finally {
    if (inFlight.get(runId) === current) inFlight.delete(runId);
  }
}

function inFlightCleanUps(): Map<string, Promise<RunResources>> {
  const key = Symbol.for('personae.test-run-cleanups');
  const holder = globalThis as unknown as Record<symbol, Map<string, Promise<RunResources>> | undefined>;
  return (holder[key] ??= new Map<string, Promise<RunResources>>());
}

async function cleanUpOnce(runId: string, { workers = false, forget = true }: CleanUpOptions): Promise<RunResources> {
  const processes = processesByRun((id) => workers && id === runId).get(runId) ?? [];
  await killAll(processes);
  const databases = (await databasesByRun()).get(runId) ?? [];
  await dropDatabases(databases);
  const redisKeys = await withRedis(async (redis) => {
    const keys = (await redisKeysByRun(redis, runId)).get(runId) ?? [];
    await deleteKeys(redis, keys);
    return keys.length;
  });
  if (forget) forgetRun(runId);
  return { runId, processes, databases, redisKeys };
}

/**
 * Cleans up every registered run whose owner is gone, never one that is still going. Resources of
 * runs nobody registered are left alone (they may belong to a run on another machine sharing the
 * servers); `npm run test:leftovers -- --clean` removes them on request.
 */
export async function cleanUpFinishedRuns(): Promise<RunResources[]> {
  const cleaned: RunResources[] = [];
  for (const runId of registeredRuns().filter((id) => !isRunAlive(id))) {
    const resources = await cleanUpRun(runId, { workers: true });
    if (resources.processes.length + resources.databases.length + resources.redisKeys > 0) cleaned.push(resources);
  }
  return cleaned;
}
