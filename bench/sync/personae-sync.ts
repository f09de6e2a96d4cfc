import type { Client } from 'pg';

import type { Personae } from '../../src/app.factory';
import { DeliveryWorkersService } from '../../src/destinations/delivery-workers.service';
import type { EmailConfig } from '../../src/destinations/destination-config';
import { DeliveryQueuesService, DeliveryRef } from '../../src/queues/delivery-queues.service';
import { backendCpu, cpuBetween } from '../ingest/postgres-cpu';
import { cpuMsSince } from './bare-loop';
import type { SinkClient } from './sink-client';

export interface SyncBench {
  personae: Personae;
  db: Client;
  sink: SinkClient;
  /** The API's base URL and a token of `workspaceId`. */
  base: string;
  token: string;
  workspaceId: string;
  config: EmailConfig;
  emails: number;
}

export interface SyncResult {
  emails: number;
  seconds: number;
  perSecond: number;
  enqueuedMs: number;
  bytesPerEmail: number;
  /** CPU time of this process (API, workers and bench) per email. */
  cpuMsPerEmail: number;
  /** CPU time of the database's Postgres backends per email (Linux; NaN elsewhere). */
  postgresCpuMsPerEmail: number;
  duplicates: number;
  sentRecorded: number;
}

export async function api(
  base: string,
  token: string,
  method: 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<{ id: string }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? { id: '' } : ((await response.json()) as { id: string });
}

/**
 * N audience entries through the delivery workers: membership, transition and delivery rows
 * written in one statement, like the membership engine, then enqueued; timed until the last SMTP
 * acceptance. Recipients are `<prefix><i>@bench.test`, fresh profiles for each round.
 */
export async function personaeSync(bench: SyncBench, prefix: string): Promise<SyncResult> {
  const { personae, db, sink, base, token, workspaceId, emails } = bench;
  const [audience] = (
    await db.query<{ id: string }>(
      `INSERT INTO audiences (id, workspace_id, key, name, definition_ast, definition_text, status)
       VALUES (gen_random_uuid(), $1, $2, 'Bench', '{}', 'bench', 'ready') RETURNING id`,
      [workspaceId, `bench_${prefix.replace(/\W/g, '_')}`],
    )
  ).rows;
  await db.query(
    `INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
     SELECT gen_random_uuid(), $1, jsonb_build_object('email', $3 || i || '@bench.test', 'name', 'Person ' || i), now(), now()
     FROM generate_series(1, $2) i`,
    [workspaceId, emails, prefix],
  );
  const destination = await api(base, token, 'POST', '/api/destinations', {
    type: 'email',
    name: `Bench ${prefix}`,
    config: bench.config,
  });
  await api(base, token, 'POST', `/api/audiences/${audience!.id}/destinations`, { destinationId: destination.id });
  const workers = personae.app.get(DeliveryWorkersService);
  while (!workers.served().includes(destination.id)) await new Promise((r) => setTimeout(r, 50));

  const before = { count: sink.count, bytes: sink.bytes, cpu: process.cpuUsage(), postgres: await backendCpu(db) };
  const started = Date.now();
  // What the membership engine writes for N entries, in one statement, then enqueues.
  const { rows } = await db.query<DeliveryRef>(
    `WITH members AS (
       INSERT INTO audience_members (audience_id, profile_id, entered_at)
       SELECT $2, p.id, now() FROM profiles p WHERE p.workspace_id = $1 AND p.traits->>'email' LIKE $4 || '%'
       RETURNING profile_id
     ), transitions AS (
       INSERT INTO audience_transitions (workspace_id, audience_id, profile_id, kind, at, audience_version)
       SELECT $1, $2, profile_id, 'entered', now(), 1 FROM members RETURNING id
     )
     INSERT INTO deliveries (id, workspace_id, destination_id, transition_id)
     SELECT gen_random_uuid(), $1, $3, id FROM transitions
     RETURNING id, destination_id AS "destinationId"`,
    [workspaceId, audience!.id, destination.id, prefix],
  );
  const queues = personae.app.get(DeliveryQueuesService);
  for (let i = 0; i < rows.length; i += 1_000) await queues.enqueue(rows.slice(i, i + 1_000));
  const enqueuedMs = Date.now() - started;
  await sink.until(before.count + emails, 300_000);
  const cpuMsPerEmail = cpuMsSince(before.cpu) / emails;
  const postgresMs = cpuBetween(before.postgres, await backendCpu(db));
  const postgresCpuMsPerEmail = before.postgres.size > 0 ? postgresMs / emails : Number.NaN;
  const seconds = (sink.lastAt - started) / 1000;
  const bytesPerEmail = (sink.bytes - before.bytes) / emails;
  // Exactly once: one acceptance per recipient, and Postgres agrees.
  await new Promise((r) => setTimeout(r, 500));
  let duplicates = 0;
  for (let i = 1; i <= emails; i++)
    duplicates += Math.max(0, (sink.acceptedAt.get(`${prefix}${i}@bench.test`)?.length ?? 0) - 1);
  const sent = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM deliveries WHERE destination_id = $1 AND status = 'sent'`,
    [destination.id],
  );
  // Its worker and SMTP pool close, so that they do not run next to the following rounds.
  await api(base, token, 'DELETE', `/api/destinations/${destination.id}`);
  return {
    emails,
    seconds,
    perSecond: emails / seconds,
    enqueuedMs,
    bytesPerEmail,
    cpuMsPerEmail,
    postgresCpuMsPerEmail,
    duplicates,
    sentRecorded: sent.rows[0]?.n ?? 0,
  };
}
