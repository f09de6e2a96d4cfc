/**
 * `npm run bench:write-keys` — does memory stay flat under unknown write keys? Sends random
 * (well-formed, unknown) write keys and oversized (400 KB) write keys to /v1/track of a real
 * listening server in this process, and measures its RSS and heap after a forced GC, next to the
 * same number of requests with the one valid key (the growth any requests cause). Prints a table
 * and writes bench/results/write-keys-<timestamp>.json.
 *
 * Knobs (env): BENCH_KEYS (100000), BENCH_HUGE_KEYS (1400), BENCH_CONCURRENCY (16).
 */
import 'reflect-metadata';

import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { createPersonae } from '../src/app.factory';
import { loadConfig } from '../src/config/app-config';
import { SourceResolverService } from '../src/tracking/source-resolver.service';
import { createTestDatabase } from '../test/support/database';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const KEYS = env('BENCH_KEYS', 100_000);
const HUGE_KEYS = env('BENCH_HUGE_KEYS', 1_400);
const CONCURRENCY = env('BENCH_CONCURRENCY', 16);
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const MB = 1024 * 1024;

interface Memory {
  rssMb: number;
  heapMb: number;
}

async function memory(): Promise<Memory> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i += 1) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const usage = process.memoryUsage();
  return { rssMb: usage.rss / MB, heapMb: usage.heapUsed / MB };
}

/** Sends `count` requests, `CONCURRENCY` at a time; returns the statuses seen. */
async function send(count: number, request: (i: number) => Promise<Response>): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next;
      next += 1;
      const response = await request(i);
      await response.arrayBuffer();
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return statuses;
}

async function main(): Promise<void> {
  if (!(globalThis as { gc?: unknown }).gc) process.stdout.write('(run with --expose-gc for steadier numbers)\n');
  const database = await createTestDatabase('personae_bench');
  const config = loadConfig({
    DATABASE_URL: database.url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    ADMIN_TOKEN,
    QUEUE_PREFIX: `bench-${randomBytes(4).toString('hex')}`,
    ROLE: 'api',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    TRACKING_RATE_LIMIT_PER_SECOND: '100000000',
  });
  const personae = await createPersonae(config);
  const http = personae.http;
  if (!http) throw new Error('the api role serves HTTP');
  await http.listen(0, '127.0.0.1');
  const { port } = http.getHttpServer().address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/v1/track`;
  const resolver = http.get(SourceResolverService);
  try {
    const created = await fetch(`http://127.0.0.1:${port}/api/workspaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Bench' }),
    });
    const { source } = (await created.json()) as { source: { writeKey: string } };
    const track = (writeKey: string, i: number) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ writeKey, anonymousId: `a${i % 500}`, event: 'Bench Key' }),
      });

    process.stdout.write(`warming up, then ${KEYS} requests with the valid key…\n`);
    await send(2_000, (i) => track(source.writeKey, i));
    const start = await memory();
    const knownStatuses = await send(KEYS, (i) => track(source.writeKey, i));
    const afterKnown = await memory();

    process.stdout.write(`${KEYS} requests with random unknown keys…\n`);
    const unknownStatuses = await send(KEYS, (i) => track(`wk_${randomBytes(24).toString('base64url')}`, i));
    const afterUnknown = await memory();
    const entriesAfterUnknown = resolver.cachedEntries;

    process.stdout.write(`${HUGE_KEYS} requests with 400 KB keys…\n`);
    const huge = 'k'.repeat(400 * 1024);
    const hugeStatuses = await send(HUGE_KEYS, (i) => track(`${huge}${i}`, i));
    const afterHuge = await memory();

    const growth = (to: Memory, from: Memory) => ({ rssMb: to.rssMb - from.rssMb, heapMb: to.heapMb - from.heapMb });
    const results = {
      at: new Date().toISOString(),
      settings: {
        keys: KEYS,
        hugeKeys: HUGE_KEYS,
        concurrency: CONCURRENCY,
        gc: Boolean((globalThis as { gc?: unknown }).gc),
      },
      memory: { start, afterKnown, afterUnknown, afterHuge },
      growth: {
        knownKey: growth(afterKnown, start),
        unknownKeys: growth(afterUnknown, afterKnown),
        hugeKeys: growth(afterHuge, afterUnknown),
      },
      cacheEntries: { afterUnknown: entriesAfterUnknown, afterHuge: resolver.cachedEntries },
      statuses: { known: knownStatuses, unknown: unknownStatuses, huge: hugeStatuses },
    };

    const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });
    const table = [
      ['phase', 'RSS growth (MB)', 'heap growth (MB)', 'goal'],
      [
        `${fmt(KEYS)} requests, valid key (reference)`,
        fmt(results.growth.knownKey.rssMb),
        fmt(results.growth.knownKey.heapMb),
        '',
      ],
      [
        `${fmt(KEYS)} random unknown keys`,
        fmt(results.growth.unknownKeys.rssMb),
        fmt(results.growth.unknownKeys.heapMb),
        'heap ≤ 16 MB (≤ 10,000 cached keys)',
      ],
      [
        `${fmt(HUGE_KEYS)} keys of 400 KB`,
        fmt(results.growth.hugeKeys.rssMb),
        fmt(results.growth.hugeKeys.heapMb),
        'heap ≤ 16 MB',
      ],
      [
        'cached write keys after unknown / huge',
        `${results.cacheEntries.afterUnknown} / ${results.cacheEntries.afterHuge}`,
        '',
        '≤ 10,000',
      ],
    ];
    const widths = [0, 1, 2, 3].map((c) => Math.max(...table.map((row) => (row[c] ?? '').length)));
    for (const row of table) process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ')}\n`);
    process.stdout.write(`statuses: ${JSON.stringify(results.statuses)}\n`);

    const dir = join(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `write-keys-${results.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`wrote ${file}\n`);
  } finally {
    await personae.close();
    await database.drop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
