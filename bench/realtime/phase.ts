import { fork } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { Client } from 'pg';

import type { RealtimeLoadJob, RealtimeLoadResult } from './load-client';
import { Probe, ProbeOptions, ProbeResult } from './probe';
import { BackendCpuMeter, processCpuMs } from './processes';

export interface BacklogSample {
  /** Seconds since the phase started. */
  t: number;
  /** Changes not yet evaluated in the heavy workspace, per lane. */
  live: number;
  bulk: number;
  /** Profile changes evaluated so far, all workspaces (profiles queued minus profiles left). */
  evaluated: number;
}

export interface PhaseResult {
  name: string;
  load: RealtimeLoadResult;
  ingestEventsPerSecond: number;
  /** Changed profiles evaluated per second while the load ran. */
  evaluatedPerSecond: number;
  /** Growth of the backlog over the second half of the load, in changes per second (≈ 0: levelled off). */
  backlogSlopePerSecond: number;
  backlogMax: number;
  backlogAtEnd: number;
  /** How long the backlog took to drain once the load stopped (null: not within the limit). */
  drainSeconds: number | null;
  samples: BacklogSample[];
  probes: Record<string, ProbeResult>;
  cpu: {
    evaluatedChanges: number;
    workerMs: number;
    workerPostgresMs: number;
    apiMs: number;
    apiPostgresMs: number;
    workerMsPer1000: number;
    workerPostgresMsPer1000: number;
  };
}

export interface PhaseOptions {
  name: string;
  sql: Client;
  heavyWorkspaceId: string;
  load: RealtimeLoadJob;
  probes: Record<string, ProbeOptions>;
  apiPid: number | undefined;
  workerPid: number | undefined;
  drainLimitSeconds: number;
}

function runLoad(job: RealtimeLoadJob): Promise<RealtimeLoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'load-client.ts'), [], { execArgv: ['-r', '@swc-node/register'] });
    child.once('message', (result) => resolve(result as RealtimeLoadResult));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`load client exited with ${code}`))));
    child.send(job);
  });
}

/**
 * Counts the profiles the outbox queues, in a sequence bumped by a trigger (an outbox row lists
 * several; once evaluated it is gone, so neither row ids nor the rows left tell how many it held).
 * Nothing in Personae reads it: it exists in the benchmark's run database only.
 */
export async function countQueuedProfiles(sql: Client): Promise<void> {
  await sql.query(`
    CREATE SEQUENCE IF NOT EXISTS bench_queued_profiles;
    CREATE OR REPLACE FUNCTION bench_count_queued() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM nextval('bench_queued_profiles') FROM generate_series(1, cardinality(NEW.profile_ids));
      RETURN NULL;
    END $$;
    CREATE OR REPLACE TRIGGER bench_count_queued AFTER INSERT ON profile_changes
      FOR EACH ROW EXECUTE FUNCTION bench_count_queued();`);
}

async function sample(sql: Client, workspaceId: string, t: number): Promise<BacklogSample> {
  const { rows } = await sql.query<{ live: number; bulk: number; left: number; written: string }>(
    `SELECT COALESCE(sum(cardinality(profile_ids)) FILTER (WHERE workspace_id = $1 AND lane = 'live'), 0)::int AS live,
            COALESCE(sum(cardinality(profile_ids)) FILTER (WHERE workspace_id = $1 AND lane = 'bulk'), 0)::int AS bulk,
            COALESCE(sum(cardinality(profile_ids)), 0)::int AS left,
            (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM bench_queued_profiles)::text AS written
     FROM profile_changes`,
    [workspaceId],
  );
  const row = rows[0]!;
  return { t, live: row.live, bulk: row.bulk, evaluated: Number(row.written) - row.left };
}

/** Least-squares slope of y over t. */
function slope(points: { t: number; y: number }[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.t - mt) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.t - mt) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/**
 * One phase: the load on the heavy workspace, the probes meanwhile, the backlog sampled every
 * second; then the backlog drains. CPU is read around the whole phase, drain included, and divided
 * by the changes evaluated in that window.
 */
export async function runPhase(options: PhaseOptions): Promise<PhaseResult> {
  const { sql, heavyWorkspaceId } = options;
  const leftover = await sample(sql, heavyWorkspaceId, 0);
  if (leftover.live + leftover.bulk > 0) {
    console.error(`  (the previous phase left ${leftover.live + leftover.bulk} changes: this phase starts with them)`);
  }
  const cpuBefore = {
    api: processCpuMs(options.apiPid),
    worker: processCpuMs(options.workerPid),
  };
  const postgres = await BackendCpuMeter.begin(sql);
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const samples: BacklogSample[] = [await sample(sql, heavyWorkspaceId, 0)];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      samples.push(await sample(sql, heavyWorkspaceId, elapsed()));
      await postgres.read(sql);
    }
  })();

  const probes = Object.entries(options.probes).map(([name, probe]) => [name, new Probe(probe)] as const);
  for (const [, probe] of probes) probe.start();
  const load = await runLoad(options.load);
  const loadSeconds = elapsed();
  const probeResults: Record<string, ProbeResult> = {};
  for (const [name, probe] of probes) probeResults[name] = await probe.stop();

  let drainSeconds: number | null = null;
  const drainDeadline = performance.now() + options.drainLimitSeconds * 1000;
  while (performance.now() < drainDeadline) {
    const last = samples[samples.length - 1]!;
    if (last.t > loadSeconds && last.live + last.bulk === 0) {
      drainSeconds = last.t - loadSeconds;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  sampling = false;
  await sampler;
  const cpuAfter = {
    api: processCpuMs(options.apiPid),
    worker: processCpuMs(options.workerPid),
  };
  await postgres.read(sql);

  const during = samples.filter((s) => s.t <= loadSeconds);
  const first = during[0]!;
  const lastDuring = during[during.length - 1]!;
  const backlog = (s: BacklogSample) => s.live + s.bulk;
  const secondHalf = during.filter((s) => s.t >= loadSeconds / 2).map((s) => ({ t: s.t, y: backlog(s) }));
  const evaluatedChanges = samples[samples.length - 1]!.evaluated - first.evaluated;
  const cpu = {
    evaluatedChanges,
    workerMs: cpuAfter.worker - cpuBefore.worker,
    workerPostgresMs: postgres.used('rt-worker'),
    apiMs: cpuAfter.api - cpuBefore.api,
    apiPostgresMs: postgres.used('rt-api'),
    workerMsPer1000: 0,
    workerPostgresMsPer1000: 0,
  };
  cpu.workerMsPer1000 = (cpu.workerMs * 1000) / Math.max(1, evaluatedChanges);
  cpu.workerPostgresMsPer1000 = (cpu.workerPostgresMs * 1000) / Math.max(1, evaluatedChanges);
  return {
    name: options.name,
    load,
    // Paced: over the pacing window (the elapsed time adds the last requests' answers after it,
    // which put a run paced at exactly the goal a few events/s under it).
    ingestEventsPerSecond:
      (load.events * 1000) / (options.load.ratePerSecond > 0 ? options.load.durationMs : load.elapsedMs),
    evaluatedPerSecond: (lastDuring.evaluated - first.evaluated) / Math.max(1e-9, lastDuring.t - first.t),
    backlogSlopePerSecond: slope(secondHalf),
    backlogMax: Math.max(...samples.map(backlog)),
    backlogAtEnd: backlog(lastDuring),
    drainSeconds,
    samples,
    probes: probeResults,
    cpu,
  };
}
