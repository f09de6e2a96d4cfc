import http from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

import type { Client } from 'pg';

import type { Personae } from '../../src/app.factory';
import { DeliveryWorkersService } from '../../src/destinations/delivery-workers.service';
import { DeliveryQueuesService, DeliveryRef } from '../../src/queues/delivery-queues.service';
import { startCpuProfile } from '../ingest/cpu-profile';
import type { BatchSinkClient } from './batch-sink-client';
import { api } from './personae-sync';

const gzipAsync = promisify(gzip);

export interface SegmentBench {
  personae: Personae;
  db: Client;
  sink: BatchSinkClient;
  base: string;
  token: string;
  workspaceId: string;
  members: number;
}

export interface SegmentResult {
  members: number;
  messages: number;
  requests: number;
  seconds: number;
  membersPerSecond: number;
  enqueuedMs: number;
  /** Members/s counted from the end of rows + enqueue: the delivery workers' part alone. */
  deliveryMembersPerSecond: number;
  sentRecorded: number;
}

/**
 * N audience entries synced to a segment destination whose receiver is the local batch sink:
 * membership, transition and delivery rows written in one statement (like the membership engine),
 * enqueued, then claimed, batched, gzipped, posted and recorded by the delivery workers; timed
 * until the sink has every message. The sink keeps the bodies for the bare loop.
 */
export async function segmentSync(bench: SegmentBench, prefix: string): Promise<SegmentResult> {
  const { personae, db, sink, base, token, workspaceId, members } = bench;
  const key = `bench_${prefix.replace(/\W/g, '_')}`;
  const [audience] = (
    await db.query<{ id: string }>(
      `INSERT INTO audiences (id, workspace_id, key, name, definition_ast, definition_text, status)
       VALUES (gen_random_uuid(), $1, $2, 'Bench segment', '{}', 'bench', 'ready') RETURNING id`,
      [workspaceId, key],
    )
  ).rows;
  await db.query(
    `WITH p AS (
       INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
       SELECT gen_random_uuid(), $1, jsonb_build_object('email', $3 || i || '@bench.test', 'name', 'Person ' || i), now(), now()
       FROM generate_series(1, $2) i RETURNING id, traits->>'email' AS email)
     INSERT INTO identities (id, workspace_id, profile_id, type, value)
     SELECT gen_random_uuid(), $1, id, 'user_id', 'user-' || email FROM p`,
    [workspaceId, members, prefix],
  );
  const destination = await api(base, token, 'POST', '/api/destinations', {
    type: 'segment',
    name: `Bench ${prefix}`,
    config: { url: sink.url, writeKey: 'bench-write-key' },
  });
  await api(base, token, 'POST', `/api/audiences/${audience!.id}/destinations`, { destinationId: destination.id });
  const workers = personae.app.get(DeliveryWorkersService);
  while (!workers.served().includes(destination.id)) await new Promise((r) => setTimeout(r, 50));

  const before = { messages: sink.messages, requests: sink.requests };
  sink.capture(true);
  const started = Date.now();
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
  await sink.until(before.messages + 2 * members, 300_000);
  const seconds = (sink.lastAt - started) / 1000;
  sink.capture(false);
  let sent = 0;
  for (let tries = 0; tries < 100 && sent < members; tries++) {
    await new Promise((r) => setTimeout(r, 100));
    const result = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM deliveries WHERE destination_id = $1 AND status = 'sent'`,
      [destination.id],
    );
    sent = result.rows[0]?.n ?? 0;
  }
  await api(base, token, 'DELETE', `/api/destinations/${destination.id}`);
  return {
    members,
    messages: sink.messages - before.messages,
    requests: sink.requests - before.requests,
    seconds,
    membersPerSecond: members / seconds,
    enqueuedMs,
    deliveryMembersPerSecond: members / (seconds - enqueuedMs / 1000),
    sentRecorded: sent,
  };
}

export interface BareBatchResult {
  members: number;
  requests: number;
  seconds: number;
  membersPerSecond: number;
  concurrency: number;
}

/**
 * The physical limit: the very batches Personae posted (their JSON, as the sink received it),
 * gzipped and posted to the same sink over keep-alive connections, `concurrency` at a time,
 * with nothing else around them.
 */
export async function bareBatchLoop(
  sink: BatchSinkClient,
  bodies: string[],
  members: number,
  concurrency: number,
): Promise<BareBatchResult> {
  const agent = new http.Agent({ keepAlive: true });
  const url = new URL('/v1/batch', sink.url);
  const headers = {
    'content-type': 'application/json',
    'content-encoding': 'gzip',
    authorization: `Basic ${Buffer.from('bench-write-key:').toString('base64')}`,
  };
  const post = (body: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const request = http.request(
        url,
        { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } },
        (response) => {
          response.resume();
          response.once('end', () =>
            response.statusCode === 200 ? resolve() : reject(new Error(`sink: ${response.statusCode}`)),
          );
        },
      );
      request.once('error', reject);
      request.end(body);
    });
  const before = sink.messages;
  const expected = bodies.reduce((n, body) => n + (JSON.parse(body) as { batch: unknown[] }).batch.length, 0);
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        await post(await gzipAsync(body));
      }
    }),
  );
  await sink.until(before + expected, 60_000);
  const seconds = (sink.lastAt - started) / 1000;
  agent.destroy();
  return { members, requests: bodies.length, seconds, membersPerSecond: members / seconds, concurrency };
}

export interface SegmentRound {
  personae: SegmentResult;
  bare: BareBatchResult;
  ratio: number;
}

export interface SegmentReport {
  rounds: SegmentRound[];
  median: SegmentRound;
  target: { ratio: number; met: boolean };
}

/** Personae rounds, each followed by the bare loop over the batches it posted; the median round. */
export async function segmentBench(
  bench: Omit<SegmentBench, 'members'>,
  members: number,
  rounds: number,
  concurrency: number,
  targetRatio: number,
): Promise<{ rows: [string, string, string][]; report: SegmentReport }> {
  const results: SegmentRound[] = [];
  for (let round = 1; round <= rounds; round++) {
    const profileFile = process.env.BENCH_SEGMENT_CPU_PROFILE;
    const profile = profileFile && round === rounds ? await startCpuProfile() : undefined;
    const personae = await segmentSync({ ...bench, members }, `s${round}-seg`);
    if (profile && profileFile) await profile.stop(profileFile);
    const bodies = await bench.sink.bodies();
    const bare = await bareBatchLoop(bench.sink, bodies, members, concurrency);
    const ratio = personae.membersPerSecond / bare.membersPerSecond;
    results.push({ personae, bare, ratio });
    process.stdout.write(
      `segment round ${round}: bare ${bare.membersPerSecond.toFixed(0)} members/s, ` +
        `Personae ${personae.membersPerSecond.toFixed(0)} members/s in ${personae.requests} requests ` +
        `(rows + enqueue ${personae.enqueuedMs} ms), ` +
        `${(ratio * 100).toFixed(0)} %\n`,
    );
  }
  const median = [...results].sort((x, y) => x.ratio - y.ratio)[Math.floor((results.length - 1) / 2)]!;
  const { personae, bare, ratio } = median;
  const rows: [string, string, string][] = [
    [
      'segment: bare loop posting the same batches',
      `${bare.membersPerSecond.toFixed(0)} members/s`,
      `${bare.requests} gzipped /v1/batch requests, ${bare.concurrency} at a time, in ${bare.seconds.toFixed(2)} s`,
    ],
    [
      'segment: Personae entry → /v1/batch',
      `${personae.membersPerSecond.toFixed(0)} members/s`,
      `${personae.members} members, ${personae.messages} messages, ${personae.requests} requests in ` +
        `${personae.seconds.toFixed(2)} s (rows + enqueue ${personae.enqueuedMs} ms); ${personae.sentRecorded} recorded sent`,
    ],
    [
      'segment: Personae after rows + enqueue',
      `${personae.deliveryMembersPerSecond.toFixed(0)} members/s`,
      `the delivery workers alone (claim, batch, gzip, post, record): ` +
        `${((personae.deliveryMembersPerSecond / bare.membersPerSecond) * 100).toFixed(0)} % of the bare loop`,
    ],
    [
      'segment: ratio to the bare loop',
      `${(ratio * 100).toFixed(0)} %`,
      `median of ${results.length} (${results.map((r) => `${(r.ratio * 100).toFixed(0)} %`).join(', ')}); ` +
        `goal ≥ ${targetRatio * 100} %`,
    ],
  ];
  return { rows, report: { rounds: results, median, target: { ratio: targetRatio, met: ratio >= targetRatio } } };
}
