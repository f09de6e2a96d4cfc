/**
 * `npm run bench:ingest-stages` — the API's CPU per event for each stage of a /v1/batch request,
 * without HTTP, Postgres or Redis: read the body, check and serialize its messages, find their
 * identifiers, resolve them to profiles (every person already known, as in bench:ingest once warm),
 * build the write and its statement text, and encode it as the driver does. Next to it, the least
 * any server must do with the same bodies: JSON.parse them and write their text as UTF-8 once.
 * Measured in one process, so it moves with the code, not with the neighbours of bench:ingest.
 * Prints a table and writes bench/results/ingest-stages-<timestamp>.json.
 *
 * Knobs (env): BENCH_BODIES (300 bodies of BENCH_BATCH = 100 messages), BENCH_PEOPLE (50000),
 * BENCH_ROUNDS (10 timed passes over the bodies, after 3 to warm up).
 */
import 'reflect-metadata';

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { SystemClock } from '../src/common/clock';
import type { AppConfig } from '../src/config/app-config';
import { identifierKey, identifiersOf } from '../src/identity/identifiers';
import type { IdentityRepository } from '../src/identity/identity.repository';
import { IdentityService } from '../src/identity/identity.service';
import type { KnownIdentity } from '../src/identity/identity-planner';
import { DEFAULT_IDENTITY_SETTINGS } from '../src/identity/identity-settings';
import type { PrismaService } from '../src/prisma/prisma.service';
import { buildIngestWrite, subjectOf } from '../src/tracking/ingest-write';
import { batchMessages } from '../src/tracking/message-reader';
import { TrackingRepository } from '../src/tracking/tracking.repository';
import { bodyObject } from '../src/tracking/tracking-messages';
import { benchMessageJson } from './ingest/payloads';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const BODIES = env('BENCH_BODIES', 300);
const BATCH = env('BENCH_BATCH', 100);
const PEOPLE = env('BENCH_PEOPLE', 50_000);
const ROUNDS = env('BENCH_ROUNDS', 10);
const WARM_ROUNDS = 3;
const WORKSPACE_ID = '00000000-0000-4000-8000-000000000001';
const SOURCE_ID = '00000000-0000-4000-8000-000000000002';

const STAGES = [
  'JSON.parse of the body',
  'check and serialize messages',
  'identifiers of each message',
  'identity resolution (all known)',
  'build the write',
  'statement text, encoded as UTF-8',
] as const;
type Stage = (typeof STAGES)[number];

function profileOf(person: number): string {
  return `00000000-0000-4000-8000-${String(person).padStart(12, '0')}`;
}

/** Bodies as the load generator of bench:ingest sends them. */
function requestBodies(): string[] {
  const bodies: string[] = [];
  let n = 0;
  for (let b = 0; b < BODIES; b += 1) {
    const at = new Date(Date.UTC(2026, 0, 1) + b * 1_000).toISOString();
    const messages: string[] = [];
    for (let i = 0; i < BATCH; i += 1) messages.push(benchMessageJson('stages', (n += 1), PEOPLE, at));
    bodies.push(`{"batch":[${messages.join(',')}],"sentAt":"${at}"}`);
  }
  return bodies;
}

/** The identities of every person of the payloads, as the database would return them. */
function knownIdentities(): Map<string, string> {
  const owners = new Map<string, string>();
  for (let person = 0; person < PEOPLE; person += 1) {
    owners.set(identifierKey({ type: 'user_id', value: `user-${person}` }), profileOf(person));
    owners.set(identifierKey({ type: 'anonymous_id', value: `anon-${person}` }), profileOf(person));
    owners.set(identifierKey({ type: 'email', value: `person${person}@example.com` }), profileOf(person));
  }
  return owners;
}

async function main(): Promise<void> {
  const bodies = requestBodies();
  const owners = knownIdentities();
  // The repositories' database halves, answered from memory: only the API's own work is measured.
  const identityRepository = {
    findIdentities: async (_workspaceId: string, identifiers: { type: string; value: string }[]) =>
      identifiers.flatMap((i): KnownIdentity[] => {
        const profileId = owners.get(identifierKey(i));
        return profileId === undefined ? [] : [{ type: i.type, value: i.value, profileId }];
      }),
    findProfiles: async () => [],
  } as unknown as IdentityRepository;
  const identity = new IdentityService(identityRepository, { IDENTITY_CACHE_SIZE: 200_000 } as AppConfig);
  let encodedBytes = 0;
  const prisma = {
    query: async (statement: { text: string; values: unknown[] }) => {
      // What the driver does with the statement: every text parameter written out as UTF-8.
      encodedBytes += Buffer.from(statement.text).length;
      for (const value of statement.values) if (typeof value === 'string') encodedBytes += Buffer.from(value).length;
      return [{ inserted: BATCH }];
    },
  } as unknown as PrismaService;
  const tracking = new TrackingRepository(prisma, new SystemClock());

  const spent = new Map<Stage, number>(STAGES.map((stage) => [stage, 0]));
  const request = async (body: string): Promise<void> => {
    let started = performance.now();
    const lap = (stage: Stage): void => {
      const now = performance.now();
      spent.set(stage, (spent.get(stage) ?? 0) + now - started);
      started = now;
    };
    const payload = bodyObject(JSON.parse(body));
    lap('JSON.parse of the body');
    const read = batchMessages(payload, { receivedAt: new Date() });
    lap('check and serialize messages');
    const planned = read.messages.map((message) => ({
      identity: identifiersOf(subjectOf(message), DEFAULT_IDENTITY_SETTINGS),
      timestamp: message.timestamp,
    }));
    lap('identifiers of each message');
    const { plan } = await identity.resolve(WORKSPACE_ID, DEFAULT_IDENTITY_SETTINGS, planned);
    lap('identity resolution (all known)');
    const write = buildIngestWrite(WORKSPACE_ID, SOURCE_ID, read.messages, plan);
    lap('build the write');
    await tracking.writeIngest(write);
    lap('statement text, encoded as UTF-8');
  };

  process.stdout.write(`warming up (${BODIES} bodies of ${BATCH} messages, ${PEOPLE} people)…\n`);
  for (let round = 0; round < WARM_ROUNDS; round += 1) for (const body of bodies) await request(body);
  for (const stage of STAGES) spent.set(stage, 0);

  process.stdout.write(`${ROUNDS} timed passes…\n`);
  const cpuBefore = process.cpuUsage();
  for (let round = 0; round < ROUNDS; round += 1) for (const body of bodies) await request(body);
  const cpu = process.cpuUsage(cpuBefore);
  const events = ROUNDS * BODIES * BATCH;

  // The floor: parse each body and write its text out once, nothing else.
  const floorBefore = process.cpuUsage();
  let bodyBytes = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const body of bodies) {
      const parsed = JSON.parse(body) as { batch: unknown[] };
      if (parsed.batch.length !== BATCH) throw new Error('a body lost messages');
      bodyBytes += Buffer.from(body).length;
    }
  }
  const floor = process.cpuUsage(floorBefore);

  const usPerEvent = (ms: number): number => (ms * 1000) / events;
  const stages = STAGES.map((stage) => ({ stage, usPerEvent: usPerEvent(spent.get(stage) ?? 0) }));
  const totalUs = (cpu.user + cpu.system) / events;
  const floorUs = (floor.user + floor.system) / events;
  const results = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    settings: { bodies: BODIES, batchSize: BATCH, people: PEOPLE, rounds: ROUNDS },
    events,
    stages,
    cpuUsPerEvent: totalUs,
    floorCpuUsPerEvent: floorUs,
    ratio: totalUs / floorUs,
    bodyBytesPerEvent: bodyBytes / events,
    encodedBytesPerEvent: encodedBytes / ((ROUNDS + WARM_ROUNDS) * BODIES * BATCH),
  };

  const fmt = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 2 });
  const table = [
    ['stage', 'µs per event', ''],
    ...stages.map(({ stage, usPerEvent: us }) => [stage, fmt(us), '']),
    ['all stages, process CPU', fmt(totalUs), ''],
    ['floor: JSON.parse + UTF-8 of the body', fmt(floorUs), ''],
    ['all stages / floor', `${fmt(results.ratio)}×`, 'lower is better'],
  ];
  const widths = [0, 1, 2].map((c) => Math.max(...table.map((row) => (row[c] ?? '').length)));
  for (const row of table) process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ')}\n`);

  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `ingest-stages-${results.at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`wrote ${file}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
