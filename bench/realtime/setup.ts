import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { Queue } from 'bullmq';
import { Client } from 'pg';

import { readAudienceDefinition } from '../../src/audiences/language/audience-definition';
import { compileAudiencePredicate } from '../../src/audiences/language/compiler/audience-compiler';
import { SystemClock } from '../../src/common/clock';
import { loadConfig } from '../../src/config/app-config';
import { migrate } from '../../src/database/migrator';
import { type Dataset, generateDataset } from '../../src/demo/generator/dataset';
import { MembershipService } from '../../src/membership/membership.service';
import { bullOptions } from '../../src/queues/queue-connection';
import { QueueName } from '../../src/queues/queue-names';
import { ensureDatabase } from '../generator/database';
import { writeDataset } from '../generator/writer';
import { engineContext } from '../membership/engine-context';
import { REALTIME_AUDIENCES } from './audiences';
import { processCpuMs } from './processes';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const UNLIMITED = '{"tracking":{"rateLimitPerSecond":100000000}}';

async function rows<T extends object>(client: Client, text: string, values: unknown[] = []): Promise<T[]> {
  return (await client.query(text, values)).rows as T[];
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * The template database: the seeded dataset in the heavy workspace, with the 20 audiences computed
 * in full. Built once per size; every run starts from a copy of it, so ingest in one run does not
 * change the next one's starting point.
 */
export async function prepareTemplate(url: string, profiles: number, events: number): Promise<Dataset> {
  const dataset = generateDataset({ profiles, events });
  const workspaceId = dataset.workspace.id;
  await ensureDatabase(url);
  await migrate(url);
  const [counts] = await withClient(url, (client) =>
    rows<{ profiles: number; events: number; audiences: number }>(
      client,
      `SELECT (SELECT count(*)::int FROM profiles WHERE workspace_id = $1) AS profiles,
              (SELECT count(*)::int FROM events WHERE workspace_id = $1) AS events,
              (SELECT count(*)::int FROM audiences WHERE workspace_id = $1 AND status = 'ready' AND key LIKE 'rt-%') AS audiences`,
      [workspaceId],
    ),
  );
  if (counts?.profiles !== profiles || counts.events !== events) {
    console.error(`loading ${profiles.toLocaleString('en-US')} profiles / ${events.toLocaleString('en-US')} events…`);
    await withClient(url, (client) => client.query('DELETE FROM workspaces WHERE id <> $1', [workspaceId]));
    await writeDataset(dataset, {
      databaseUrl: url,
      onProgress: (p) => console.error(`  ${p.elapsedSeconds.toFixed(0)}s  events ${p.events.toLocaleString('en-US')}`),
    });
  } else if (counts.audiences === REALTIME_AUDIENCES.length) {
    return dataset;
  }
  await computeAudiences(url, workspaceId);
  // What autovacuum would have done by now in production (it is off on this machine): statistics
  // for the planner and visibility maps for index-only scans.
  await withClient(url, (client) => client.query('VACUUM ANALYZE'));
  return dataset;
}

async function computeAudiences(url: string, workspaceId: string): Promise<void> {
  console.error('computing the 20 audiences in full…');
  await withClient(url, async (client) => {
    await client.query(`DELETE FROM audiences WHERE workspace_id = $1 AND key LIKE 'rt-%'`, [workspaceId]);
    await client.query('UPDATE workspaces SET settings = $2 WHERE id = $1', [workspaceId, UNLIMITED]);
    for (const audience of REALTIME_AUDIENCES) {
      const read = readAudienceDefinition(audience.definition);
      if (!read.ok) throw new Error(`bad bench definition ${audience.key}`);
      await client.query(
        `INSERT INTO audiences (id, workspace_id, key, name, definition_ast, definition_text, updated_at)
         VALUES (gen_random_uuid(), $1, $2, $2, $3, $4, now())`,
        [workspaceId, audience.key, JSON.stringify(read.ast), read.text],
      );
    }
  });
  const config = loadConfig({
    DATABASE_URL: url,
    REDIS_URL,
    ADMIN_TOKEN,
    QUEUE_PREFIX: `bench-realtime-${randomBytes(4).toString('hex')}`,
    ROLE: 'worker',
    LOG_LEVEL: 'warn',
  });
  const context = await engineContext(config, new SystemClock());
  try {
    const engine = context.get(MembershipService);
    const ids = await withClient(url, (client) =>
      rows<{ id: string; key: string }>(client, `SELECT id, key FROM audiences WHERE workspace_id = $1`, [workspaceId]),
    );
    // In the listed order: every chain's referenced audiences come first.
    for (const audience of REALTIME_AUDIENCES) {
      const id = ids.find((row) => row.key === audience.key)?.id;
      if (!id) throw new Error(`audience ${audience.key} is missing`);
      await engine.compute({ workspaceId, audienceId: id, reason: 'created' });
    }
  } finally {
    await context.close();
    await obliterateQueues(config.QUEUE_PREFIX);
  }
}

/** Removes a run's queues from Redis (every static queue under its prefix; the bench has no destinations). */
export async function obliterateQueues(prefix: string): Promise<void> {
  const config = loadConfig({
    DATABASE_URL: 'postgresql://unused@127.0.0.1/unused',
    REDIS_URL,
    ADMIN_TOKEN,
    QUEUE_PREFIX: prefix,
  });
  for (const name of Object.values(QueueName)) {
    const queue = new Queue(name, bullOptions(config));
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

/** A database of this run, copied from the template (no connection to the template may be open). */
export async function cloneTemplate(templateUrl: string, runName: string): Promise<string> {
  const template = new URL(templateUrl);
  const templateName = decodeURIComponent(template.pathname.slice(1));
  const server = new URL(templateUrl);
  server.pathname = '/postgres';
  await withClient(server.toString(), async (client) => {
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [templateName]);
    await client.query(
      `CREATE DATABASE ${client.escapeIdentifier(runName)} TEMPLATE ${client.escapeIdentifier(templateName)}`,
    );
  });
  const run = new URL(templateUrl);
  run.pathname = `/${runName}`;
  return run.toString();
}

export async function dropDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const server = new URL(url);
  server.pathname = '/postgres';
  server.search = '';
  await withClient(server.toString(), (client) =>
    client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`),
  );
}

export interface ProbeWorkspace {
  workspaceId: string;
  writeKey: string;
  apiToken: string;
  audienceIds: Map<string, string>;
}

/** The probe workspace, made as a user would: the admin API, then the 20 audiences through the API. */
export async function createProbeWorkspace(baseUrl: string, sql: Client): Promise<ProbeWorkspace> {
  const post = async (path: string, token: string, body: object) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
    return response.json() as Promise<Record<string, unknown>>;
  };
  const created = (await post('/api/workspaces', ADMIN_TOKEN, { name: 'realtime-probe' })) as {
    workspace: { id: string };
    source: { writeKey: string };
    apiToken: string;
  };
  const workspaceId = created.workspace.id;
  await sql.query('UPDATE workspaces SET settings = $2 WHERE id = $1', [workspaceId, UNLIMITED]);
  const audienceIds = new Map<string, string>();
  for (const audience of REALTIME_AUDIENCES) {
    const made = (await post('/api/audiences', created.apiToken, {
      key: audience.key,
      name: audience.key,
      definition: audience.definition,
    })) as { id: string };
    audienceIds.set(audience.key, made.id);
  }
  const deadline = Date.now() + 120_000;
  for (;;) {
    const [row] = await rows<{ ready: number }>(
      sql,
      `SELECT count(*)::int AS ready FROM audiences WHERE workspace_id = $1 AND status = 'ready'`,
      [workspaceId],
    );
    if (row?.ready === REALTIME_AUDIENCES.length) break;
    if (Date.now() > deadline) throw new Error('the probe audiences were not computed within 2 minutes');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { workspaceId, writeKey: created.source.writeKey, apiToken: created.apiToken, audienceIds };
}

export async function audienceIdsOf(sql: Client, workspaceId: string): Promise<Map<string, string>> {
  const found = await rows<{ id: string; key: string }>(sql, 'SELECT id, key FROM audiences WHERE workspace_id = $1', [
    workspaceId,
  ]);
  return new Map(found.map((row) => [row.key, row.id]));
}

export async function returningUserIds(sql: Client, workspaceId: string, limit: number): Promise<string[]> {
  const found = await rows<{ value: string }>(
    sql,
    `SELECT value FROM identities WHERE workspace_id = $1 AND type = 'user_id' ORDER BY value LIMIT $2`,
    [workspaceId, limit],
  );
  return found.map((row) => row.value);
}

export interface FullCounts {
  profiles: number;
  seconds: number;
  postgresCpuMs: number;
  postgresCpuMsPer1000Profiles: number;
}

/**
 * What the same 20 audiences cost when counted in full: each compiled predicate over every live
 * profile of the heavy workspace (no writes), on one connection whose backend's CPU is read.
 */
export async function measureFullCounts(url: string, workspaceId: string): Promise<FullCounts> {
  return withClient(url, async (client) => {
    const [first] = await rows<{ pid: number; profiles: number }>(
      client,
      `SELECT pg_backend_pid() AS pid,
              (SELECT count(*)::int FROM profiles WHERE workspace_id = $1 AND merged_into_id IS NULL) AS profiles`,
      [workspaceId],
    );
    const { pid, profiles } = first!;
    const now = new Date();
    const cpuBefore = processCpuMs(pid);
    const started = performance.now();
    for (const audience of REALTIME_AUDIENCES) {
      const read = readAudienceDefinition(audience.definition);
      if (!read.ok) throw new Error('bad definition');
      const predicate = compileAudiencePredicate(read.ast, { workspaceId, now });
      await client.query(
        `SELECT count(*) FROM profiles p WHERE p.workspace_id = $${predicate.values.length + 1}::uuid
         AND p.merged_into_id IS NULL AND ${predicate.text}`,
        [...predicate.values, workspaceId],
      );
    }
    const seconds = (performance.now() - started) / 1000;
    const postgresCpuMs = processCpuMs(pid) - cpuBefore;
    return { profiles, seconds, postgresCpuMs, postgresCpuMsPer1000Profiles: (postgresCpuMs * 1000) / profiles };
  });
}
