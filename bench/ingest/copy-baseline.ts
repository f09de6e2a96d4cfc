import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { benchMessage } from './payloads';
import { backendCpu, cpuBetween } from './postgres-cpu';

const COLUMNS =
  'workspace_id, profile_id, source_id, message_id, type, name, user_id, anonymous_id, properties, traits, context, integrations, timestamp, original_timestamp, sent_at, received_at';

/** COPY text format: backslash, tab, newline and carriage return must be escaped. */
function field(value: string | null): string {
  if (value === null) return '\\N';
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/**
 * The rows the API would have written for `count` benchmark messages, as COPY text, built
 * before the clock starts so that only the COPY itself is measured.
 */
export function copyRows(
  workspaceId: string,
  sourceId: string,
  profileIds: string[],
  runId: string,
  count: number,
  people: number,
): Buffer[] {
  const chunks: Buffer[] = [];
  let lines: string[] = [];
  const now = new Date();
  const at = now.toISOString();
  for (let n = 0; n < count; n += 1) {
    const m = benchMessage(runId, n, people, now);
    const profileId = profileIds[n % profileIds.length] ?? '';
    const name = m.type === 'track' ? (m.event ?? null) : (m.name ?? null);
    lines.push(
      [
        workspaceId,
        profileId,
        sourceId,
        m.messageId,
        m.type,
        field(name),
        field(m.userId),
        field(m.anonymousId),
        field(JSON.stringify(m.properties ?? {})),
        field(m.traits ? JSON.stringify(m.traits) : null),
        field(JSON.stringify(m.context)),
        '\\N',
        m.timestamp,
        m.timestamp,
        at,
        at,
      ].join('\t'),
    );
    if (lines.length === 1000) {
      chunks.push(Buffer.from(`${lines.join('\n')}\n`));
      lines = [];
    }
  }
  if (lines.length > 0) chunks.push(Buffer.from(`${lines.join('\n')}\n`));
  return chunks;
}

/** Streams the rows into `events` with one COPY, in one transaction; returns rows per second. */
export async function copyBaseline(
  databaseUrl: string,
  chunks: Buffer[],
  rows: number,
): Promise<{ elapsedMs: number; rowsPerSecond: number; postgresCpuMs: number }> {
  const client = new Client({ connectionString: databaseUrl });
  const observer = new Client({ connectionString: databaseUrl });
  await client.connect();
  await observer.connect();
  try {
    const cpuBefore = await backendCpu(observer);
    const started = performance.now();
    await client.query('BEGIN');
    await pipeline(Readable.from(chunks), client.query(copyFrom(`COPY events (${COLUMNS}) FROM STDIN`)));
    await client.query('COMMIT');
    const elapsedMs = performance.now() - started;
    const postgresCpuMs = cpuBetween(cpuBefore, await backendCpu(observer));
    return { elapsedMs, rowsPerSecond: (rows * 1000) / elapsedMs, postgresCpuMs };
  } finally {
    await client.end();
    await observer.end();
  }
}
