import http from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

import { Client } from 'pg';

import type { Personae } from '../../src/app.factory';
import { DeliveryWorkersService } from '../../src/destinations/delivery-workers.service';
import { audienceMessages } from '../../src/destinations/segment-messages';
import { batchBody, packRequests } from '../../src/destinations/segment-requests';
import { batchTransitionDelivery, ClaimedBatch } from '../../src/destinations/transition-batches';
import { DELIVERY_COLUMNS, profileDeliveries } from '../../src/membership/batch-diff-statement';
import { DeliveryQueuesService, DeliveryRef } from '../../src/queues/delivery-queues.service';
import { startCpuProfile } from '../ingest/cpu-profile';
import { backendCpu, cpuBetween } from '../ingest/postgres-cpu';
import type { BatchSinkClient } from './batch-sink-client';
import { api } from './personae-sync';

const gzipAsync = promisify(gzip);

/** CPU used during a phase: this process (the app and its workers, or the bare loop) and Postgres, in ms. */
export interface PhaseCpu {
  appMs: number;
  postgresMs: number;
}

/** Starts counting CPU; the function it returns stops and answers. */
async function cpuMeter(meter: Client): Promise<() => Promise<PhaseCpu>> {
  const app = process.cpuUsage();
  const postgres = await backendCpu(meter);
  return async () => {
    const used = process.cpuUsage(app);
    return { appMs: (used.user + used.system) / 1000, postgresMs: cpuBetween(postgres, await backendCpu(meter)) };
  };
}

export interface SegmentBench {
  personae: Personae;
  db: Client;
  sink: BatchSinkClient;
  base: string;
  token: string;
  workspaceId: string;
  members: number;
  /** A connection of its own that reads the CPU of the others. */
  meter: Client;
}

export interface SegmentResult {
  audienceId: string;
  /** The audience's key and the destination's id, which the messages carry (the bare loop's too). */
  audienceKey: string;
  destinationId: string;
  members: number;
  messages: number;
  requests: number;
  seconds: number;
  membersPerSecond: number;
  enqueuedMs: number;
  /** Members/s counted from the end of rows + enqueue: the delivery workers' part alone. */
  deliveryMembersPerSecond: number;
  sentRecorded: number;
  cpu: PhaseCpu;
}

/**
 * N audience entries synced to a segment destination whose receiver is the local batch sink:
 * membership and transition rows written first, then the deliveries the membership engine writes
 * for them (its own SQL: a transition batch per 1,250 transitions), enqueued, claimed, gzipped,
 * posted and recorded by the delivery workers; timed from the deliveries until the sink has every
 * message.
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

  // The membership engine's part (members and transitions) is written before the clock starts: it
  // exists whether or not a destination is connected. Timed: what syncing adds, the deliveries
  // (the exactly-once ledger), their jobs, and the workers claiming, posting and recording them.
  await db.query(
    `WITH members AS (
       INSERT INTO audience_members (audience_id, profile_id, entered_at)
       SELECT $2, p.id, now() FROM profiles p WHERE p.workspace_id = $1 AND p.traits->>'email' LIKE $3 || '%'
       RETURNING profile_id
     )
     INSERT INTO audience_transitions (workspace_id, audience_id, profile_id, kind, at, audience_version)
     SELECT $1, $2, profile_id, 'entered', now(), 1 FROM members`,
    [workspaceId, audience!.id, prefix],
  );
  const before = { messages: sink.messages, requests: sink.requests };
  const cpu = await cpuMeter(bench.meter);
  const started = Date.now();
  const { rows } = await db.query<DeliveryRef>(
    `WITH transitions AS (SELECT * FROM audience_transitions WHERE audience_id = $1)
     INSERT INTO deliveries ${DELIVERY_COLUMNS.text} ${profileDeliveries.text}
     RETURNING id, destination_id AS "destinationId"`,
    [audience!.id],
  );
  const queues = personae.app.get(DeliveryQueuesService);
  for (let i = 0; i < rows.length; i += 1_000) await queues.enqueue(rows.slice(i, i + 1_000));
  const enqueuedMs = Date.now() - started;
  await sink.until(before.messages + 2 * members, 300_000);
  const used = await cpu();
  const seconds = (sink.lastAt - started) / 1000;
  let sent = 0;
  for (let tries = 0; tries < 100 && sent < members; tries++) {
    await new Promise((r) => setTimeout(r, 100));
    const result = await db.query<{ n: number }>(
      `SELECT coalesce(sum(coalesce(cardinality(transition_ids), 1)), 0)::int AS n
       FROM deliveries WHERE destination_id = $1 AND status = 'sent'`,
      [destination.id],
    );
    sent = result.rows[0]?.n ?? 0;
  }
  await api(base, token, 'DELETE', `/api/destinations/${destination.id}`);
  return {
    audienceId: audience!.id,
    audienceKey: key,
    destinationId: destination.id,
    members,
    messages: sink.messages - before.messages,
    requests: sink.requests - before.requests,
    seconds,
    membersPerSecond: members / seconds,
    enqueuedMs,
    deliveryMembersPerSecond: members / (seconds - enqueuedMs / 1000),
    sentRecorded: sent,
    cpu: used,
  };
}

export interface BareBatchResult {
  members: number;
  requests: number;
  seconds: number;
  membersPerSecond: number;
  concurrency: number;
  cpu: PhaseCpu;
}

/**
 * The physical limit, built from the same rows: one query reads the audience's transitions with
 * their members (identities and email, as the workers' claim does), Personae's own message builder
 * and packer make the same identify + track messages and requests, and they are gzipped and posted
 * to the same sink over keep-alive connections, `concurrency` at a time. What it leaves out is what
 * exactly-once costs: the delivery rows, their jobs, the claim and the recorded outcome.
 */
export async function bareBatchLoop(
  bench: Pick<SegmentBench, 'db' | 'sink' | 'workspaceId' | 'meter'>,
  { audienceId, audienceKey, destinationId }: Pick<SegmentResult, 'audienceId' | 'audienceKey' | 'destinationId'>,
  members: number,
  concurrency: number,
): Promise<BareBatchResult> {
  const { db, sink, workspaceId } = bench;
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
  const cpu = await cpuMeter(bench.meter);
  const started = Date.now();
  const { rows } = await db.query<{
    id: string;
    at: Date;
    profileId: string;
    identities: { type: string; value: string }[];
    email: string | null;
  }>(
    `SELECT t.id::text, t.at, p.id AS "profileId",
            coalesce((SELECT json_agg(json_build_object('type', i.type, 'value', i.value) ORDER BY i.type, i.created_at)
                      FROM identities i WHERE i.profile_id = p.id), '[]'::json) AS identities,
            lower(btrim(p.traits->>'email')) AS email
     FROM audience_transitions t JOIN profiles p ON p.id = t.profile_id
     WHERE t.audience_id = $1`,
    [audienceId],
  );
  // Personae's own delivery of a batch transition, with the destination id and audience key of
  // the round it follows, so the messages are byte for byte the ones Personae sent (messageIds
  // and context carry both: with a placeholder id and a shorter key they were 14 % smaller).
  const batch: ClaimedBatch = {
    id: 'bare',
    workspaceId,
    destinationId,
    attempts: 1,
    destinationType: 'segment',
    config: {},
    destinationVersion: new Date(),
    transitions: [],
  };
  const audience = { id: audienceId, key: audienceKey, name: 'Bench segment', connected: true };
  const serialized = rows.map((row) =>
    audienceMessages(
      batchTransitionDelivery(batch, {
        batch: null,
        audience,
        transitionId: row.id,
        kind: 'entered',
        at: row.at,
        profileId: row.profileId,
        identities: row.identities,
        email: row.email,
      }),
    ).map((m) => JSON.stringify(m)),
  );
  const { requests } = packRequests(serialized);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length) {
        const indices = requests[next++]!;
        await post(
          await gzipAsync(
            batchBody(
              indices.flatMap((i) => serialized[i] ?? []),
              new Date(),
            ),
          ),
        );
      }
    }),
  );
  await sink.until(before + 2 * rows.length, 60_000);
  const used = await cpu();
  const seconds = (sink.lastAt - started) / 1000;
  agent.destroy();
  return { members, requests: requests.length, seconds, membersPerSecond: members / seconds, concurrency, cpu: used };
}

export interface SegmentRound {
  personae: SegmentResult;
  bare: BareBatchResult;
  ratio: number;
}

export interface SegmentReport {
  members: number;
  rounds: SegmentRound[];
  median: SegmentRound;
  target: { ratio: number; met: boolean };
}

/**
 * For each audience change size: Personae rounds, each followed by the bare loop over the batches
 * it posted, and the median round. A small change shows the latency every sync starts with (the
 * engine's delivery rows, the job, the first claim); a large one the rate it then keeps.
 */
export async function segmentBench(
  shared: Omit<SegmentBench, 'members' | 'meter'>,
  sizes: number[],
  rounds: number,
  concurrency: number,
  targetRatio: number,
): Promise<{ rows: [string, string, string][]; report: SegmentReport[] }> {
  const { host, port, user, database } = shared.db;
  const meter = new Client({ host, port, user, database });
  await meter.connect();
  try {
    const bench = { ...shared, meter };
    // An untimed round of each first: both share the message builder and packer, which the first
    // timed round would otherwise warm up for the bare loop that follows it.
    const warm = await segmentSync({ ...bench, members: 2_000 }, 'warm-seg');
    await bareBatchLoop(bench, warm, warm.members, concurrency);
    const rows: [string, string, string][] = [];
    const report: SegmentReport[] = [];
    for (const members of sizes) {
      const size = await segmentRounds(bench, members, rounds, concurrency, targetRatio);
      rows.push(...size.rows);
      report.push(size.report);
    }
    return { rows, report };
  } finally {
    await meter.end();
  }
}

async function segmentRounds(
  bench: Omit<SegmentBench, 'members'>,
  members: number,
  rounds: number,
  concurrency: number,
  targetRatio: number,
): Promise<{ rows: [string, string, string][]; report: SegmentReport }> {
  const results: SegmentRound[] = [];
  const label = `segment ${members.toLocaleString('en-US')}`;
  for (let round = 1; round <= rounds; round++) {
    const profileFile = process.env.BENCH_SEGMENT_CPU_PROFILE;
    const profile = profileFile && round === rounds ? await startCpuProfile() : undefined;
    const personae = await segmentSync({ ...bench, members }, `s${members}r${round}-seg`);
    if (profile && profileFile) await profile.stop(profileFile);
    const bareProfile = profileFile && round === rounds ? await startCpuProfile() : undefined;
    const bare = await bareBatchLoop(bench, personae, members, concurrency);
    if (bareProfile && profileFile) await bareProfile.stop(profileFile.replace(/(\.cpuprofile)?$/, '-bare$1'));
    const ratio = personae.membersPerSecond / bare.membersPerSecond;
    results.push({ personae, bare, ratio });
    process.stdout.write(
      `${label} round ${round}: bare ${bare.membersPerSecond.toFixed(0)} members/s, ` +
        `Personae ${personae.membersPerSecond.toFixed(0)} members/s in ${personae.requests} requests ` +
        `(delivery rows + enqueue ${personae.enqueuedMs} ms), ` +
        `${(ratio * 100).toFixed(0)} %\n`,
    );
  }
  const median = [...results].sort((x, y) => x.ratio - y.ratio)[Math.floor((results.length - 1) / 2)]!;
  const { personae, bare, ratio } = median;
  const rows: [string, string, string][] = [
    [
      `${label}: bare loop (read members, build, post)`,
      `${bare.membersPerSecond.toFixed(0)} members/s`,
      `one query for the members, the same messages and packing, ${bare.requests} gzipped /v1/batch requests, ` +
        `${bare.concurrency} at a time, in ${bare.seconds.toFixed(2)} s`,
    ],
    [
      `${label}: Personae transitions → /v1/batch`,
      `${personae.membersPerSecond.toFixed(0)} members/s`,
      `${personae.members} members, ${personae.messages} messages, ${personae.requests} requests in ` +
        `${personae.seconds.toFixed(2)} s (delivery rows + enqueue ${personae.enqueuedMs} ms); ${personae.sentRecorded} recorded sent`,
    ],
    [
      `${label}: Personae after delivery rows + enqueue`,
      `${personae.deliveryMembersPerSecond.toFixed(0)} members/s`,
      `the delivery workers alone (claim, batch, gzip, post, record): ` +
        `${((personae.deliveryMembersPerSecond / bare.membersPerSecond) * 100).toFixed(0)} % of the bare loop`,
    ],
    [
      `${label}: CPU per 1,000 members, bare loop`,
      `${perThousand(bare.cpu, members)} ms`,
      'this process (query, build, pack, gzip, post) + Postgres',
    ],
    [
      `${label}: CPU per 1,000 members, Personae`,
      `${perThousand(personae.cpu, members)} ms`,
      'this process (API, workers: claim, build, pack, gzip, post, record) + Postgres',
    ],
    [
      `${label}: ratio to the bare loop`,
      `${(ratio * 100).toFixed(0)} %`,
      `median of ${results.length} (${results.map((r) => `${(r.ratio * 100).toFixed(0)} %`).join(', ')}); ` +
        `goal ≥ ${targetRatio * 100} %`,
    ],
  ];
  return {
    rows,
    report: { members, rounds: results, median, target: { ratio: targetRatio, met: ratio >= targetRatio } },
  };
}

/** `app + Postgres = total` CPU ms per 1,000 members. */
function perThousand(cpu: PhaseCpu, members: number): string {
  const app = (cpu.appMs * 1000) / members;
  const postgres = (cpu.postgresMs * 1000) / members;
  return `${app.toFixed(0)} + ${postgres.toFixed(0)} = ${(app + postgres).toFixed(0)}`;
}
