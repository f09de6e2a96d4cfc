import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';

import { Client } from 'pg';
import { type CopyStreamQuery, from as copyFrom } from 'pg-copy-streams';

import type { Dataset } from '../../src/demo/generator/dataset';
import type { ProfileJourney } from '../../src/demo/generator/rows';
import { copySql, type CopyTable, EVENTS, IDENTITIES, PROFILES, SOURCES, WORKSPACES } from './copy-text';
import {
  type ClearOutcome,
  clearWorkspace,
  createIndexes,
  dropSecondaryIndexes,
  type IndexDefinition,
} from './database';

/**
 * Streams a dataset into Postgres with COPY over two connections: one long COPY for events (the
 * bulk), and chunked COPYs for profiles and identities. Chunks commit one by one, so the identities'
 * foreign key to profiles always finds its profile, and both overlap with the event stream.
 */

export type EventIndexMode = 'keep' | 'rebuild' | 'auto';

/** Below this many events rebuilding indexes costs more than maintaining them row by row. */
export const AUTO_REBUILD_THRESHOLD = 250_000;

export interface WriteOptions {
  databaseUrl: string;
  /** Drop the events table's non-unique indexes during the load and rebuild them after. Default 'auto'. */
  eventIndexes?: EventIndexMode;
  /** ANALYZE the loaded tables afterwards. Default true. */
  analyze?: boolean;
  /** SHA-256 of the COPY text of each table, to prove two loads byte-identical. Default false. */
  checksums?: boolean;
  /** Profiles per committed profiles/identities chunk. */
  chunkProfiles?: number;
  onJourney?: (journey: ProfileJourney) => void;
  onProgress?: (progress: LoadProgress) => void;
  progressIntervalMs?: number;
}

export interface LoadProgress {
  profiles: number;
  events: number;
  totalProfiles: number;
  totalEvents: number;
  elapsedSeconds: number;
}

export interface TableLoad {
  table: string;
  rows: number;
  /** From the start of the load until the table's last row was committed. */
  seconds: number;
  rowsPerSecond: number;
  sha256?: string;
}

export interface WriteResult {
  cleared: ClearOutcome;
  tables: TableLoad[];
  rebuiltIndexes: string[];
  seconds: { clear: number; load: number; indexes: number; analyze: number; total: number };
}

const FLUSH_BYTES = 512 * 1024;

/** One COPY statement kept open across many writes, honouring the socket's backpressure. */
class CopySink {
  private readonly stream: CopyStreamQuery;
  private readonly done: Promise<void>;

  constructor(client: Client, sql: string) {
    this.stream = client.query(copyFrom(sql));
    this.done = finished(this.stream);
    // Observed through write() and end(); this only keeps an early failure from going unhandled.
    this.done.catch(() => undefined);
  }

  async write(text: string): Promise<void> {
    if (!this.stream.write(text)) await Promise.race([once(this.stream, 'drain'), this.done]);
  }

  async end(): Promise<number> {
    this.stream.end();
    await this.done;
    return this.stream.rowCount;
  }
}

async function copyText(client: Client, sql: string, text: string): Promise<number> {
  const stream = client.query(copyFrom(sql));
  await pipeline(Readable.from([text]), stream);
  return stream.rowCount;
}

class TableTracker {
  rows = 0;
  seconds = 0;
  private readonly hash: Hash | null;

  constructor(
    readonly target: CopyTable<never>,
    checksum: boolean,
  ) {
    this.hash = checksum ? createHash('sha256') : null;
  }

  digest(text: string): void {
    this.hash?.update(text);
  }

  result(): TableLoad {
    const load: TableLoad = {
      table: this.target.table,
      rows: this.rows,
      seconds: round(this.seconds),
      rowsPerSecond: this.seconds > 0 ? Math.round(this.rows / this.seconds) : this.rows,
    };
    if (this.hash !== null) load.sha256 = this.hash.digest('hex');
    return load;
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: 'personae-bench-data' });
  await client.connect();
  // Benchmark data can be regenerated; waiting for each commit's WAL flush buys nothing here.
  await client.query('SET synchronous_commit = off');
  return client;
}

export async function writeDataset(dataset: Dataset, options: WriteOptions): Promise<WriteResult> {
  const startedAt = performance.now();
  const seconds = (since: number): number => (performance.now() - since) / 1000;
  const checksums = options.checksums ?? false;
  const chunkProfiles = options.chunkProfiles ?? 5000;
  const mode = options.eventIndexes ?? 'auto';
  const rebuild = mode === 'rebuild' || (mode === 'auto' && dataset.options.events >= AUTO_REBUILD_THRESHOLD);

  const entities = await connect(options.databaseUrl);
  const eventsClient = await connect(options.databaseUrl).catch(async (error: unknown) => {
    await entities.end();
    throw error;
  });
  const trackers = {
    workspaces: new TableTracker(WORKSPACES, checksums),
    sources: new TableTracker(SOURCES, checksums),
    profiles: new TableTracker(PROFILES, checksums),
    identities: new TableTracker(IDENTITIES, checksums),
    events: new TableTracker(EVENTS, checksums),
  };

  try {
    const clearStarted = performance.now();
    const cleared = await clearWorkspace(entities, dataset.workspace.id);
    const clearSeconds = seconds(clearStarted);

    const loadStarted = performance.now();
    const head = [
      { tracker: trackers.workspaces, text: WORKSPACES.line(dataset.workspace) },
      { tracker: trackers.sources, text: SOURCES.line(dataset.source) },
    ];
    for (const { tracker, text } of head) {
      tracker.digest(text);
      tracker.rows = await copyText(entities, copySql(tracker.target), text);
      tracker.seconds = seconds(loadStarted);
    }

    // The whole event load is one transaction: if it dies half way, the dropped indexes come back
    // with the rollback instead of leaving the table without them.
    await eventsClient.query('BEGIN');
    const dropped: IndexDefinition[] = rebuild ? await dropSecondaryIndexes(eventsClient, EVENTS.table) : [];
    const sink = new CopySink(eventsClient, copySql(EVENTS));

    let pendingChunk: Promise<void> = Promise.resolve();
    let profileText = '';
    let identityText = '';
    let chunkSize = 0;
    let eventText = '';
    let eventsSeen = 0;
    let profilesSeen = 0;
    let lastProgress = performance.now();
    const progressEvery = options.progressIntervalMs ?? 2000;

    const flushChunk = (profilesChunk: string, identitiesChunk: string): Promise<void> => {
      const chunk = (async (): Promise<void> => {
        trackers.profiles.rows += await copyText(entities, copySql(PROFILES), profilesChunk);
        trackers.profiles.seconds = seconds(loadStarted);
        trackers.identities.rows += await copyText(entities, copySql(IDENTITIES), identitiesChunk);
        trackers.identities.seconds = seconds(loadStarted);
      })();
      chunk.catch(() => undefined);
      return chunk;
    };

    for (const journey of dataset.journeys()) {
      options.onJourney?.(journey);
      profilesSeen += 1;
      chunkSize += 1;
      const profileLine = PROFILES.line(journey.profile);
      trackers.profiles.digest(profileLine);
      profileText += profileLine;
      for (const identity of journey.identities) {
        const line = IDENTITIES.line(identity);
        trackers.identities.digest(line);
        identityText += line;
      }
      for (const event of journey.events) eventText += EVENTS.line(event);
      eventsSeen += journey.events.length;

      if (eventText.length >= FLUSH_BYTES) {
        trackers.events.digest(eventText);
        await sink.write(eventText);
        eventText = '';
      }
      if (chunkSize >= chunkProfiles) {
        // At most one chunk in flight: generation runs ahead by one chunk, never more.
        await pendingChunk;
        pendingChunk = flushChunk(profileText, identityText);
        profileText = '';
        identityText = '';
        chunkSize = 0;
      }
      if (options.onProgress !== undefined && performance.now() - lastProgress >= progressEvery) {
        lastProgress = performance.now();
        options.onProgress({
          profiles: profilesSeen,
          events: eventsSeen,
          totalProfiles: dataset.options.profiles,
          totalEvents: dataset.options.events,
          elapsedSeconds: seconds(loadStarted),
        });
      }
    }
    await pendingChunk;
    if (chunkSize > 0) await flushChunk(profileText, identityText);
    if (eventText.length > 0) {
      trackers.events.digest(eventText);
      await sink.write(eventText);
    }
    trackers.events.rows = await sink.end();
    trackers.events.seconds = seconds(loadStarted);
    const loadSeconds = seconds(loadStarted);

    const indexStarted = performance.now();
    if (dropped.length > 0) {
      await eventsClient.query("SET LOCAL maintenance_work_mem = '1GB'");
      await createIndexes(eventsClient, dropped);
    }
    await eventsClient.query('COMMIT');
    const indexSeconds = seconds(indexStarted);

    const analyzeStarted = performance.now();
    if (options.analyze ?? true) await entities.query('ANALYZE profiles, identities, events');
    const analyzeSeconds = seconds(analyzeStarted);

    return {
      cleared,
      tables: Object.values(trackers).map((tracker) => tracker.result()),
      rebuiltIndexes: dropped.map((index) => index.name),
      seconds: {
        clear: round(clearSeconds),
        load: round(loadSeconds),
        indexes: round(indexSeconds),
        analyze: round(analyzeSeconds),
        total: round(seconds(startedAt)),
      },
    };
  } finally {
    await Promise.all([entities.end().catch(() => undefined), eventsClient.end().catch(() => undefined)]);
  }
}
