import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Client, Pool, PoolClient } from 'pg';

import { currentRequestSignal } from '../common/request-signal';
import { DatabaseConfig } from '../config/app-config';
import { Prisma } from '../generated/prisma/client';
import {
  ClientClosedRequestError,
  InteractiveQueriesBusyError,
  InteractiveQueryTimeoutError,
  QuerySubject,
} from './interactive-errors';
import { postgresErrorCode } from './postgres-errors';
import { ANALYTICAL_SETTINGS, startupOptions } from './query-settings';
import { ReleaseSlot, SlotWaitAbortedError, SlotWaitTimeoutError, WorkspaceSlots } from './workspace-slots';

/** How the interactive pool's sessions show up in pg_stat_activity. */
export const INTERACTIVE_APPLICATION_NAME = 'personae-interactive';

const QUERY_CANCELED = '57014';

/**
 * The interactive budget: queries a person waits for (previews, explains, funnel reports,
 * listings) run on a small pool of their own, never on the connections ingest and workers use.
 *
 * - Each session has statement_timeout = INTERACTIVE_STATEMENT_TIMEOUT_MS: a query running longer
 *   is stopped by Postgres and answered 422 naming the limit and what to narrow.
 * - A workspace runs at most INTERACTIVE_QUERIES_PER_WORKSPACE of them at once; more wait their
 *   turn, at most one timeout long, then get 429 with Retry-After. One workspace's slow queries
 *   thus never take every interactive connection from the others.
 * - When the HTTP client disconnects, its query is cancelled (pg_cancel_backend) instead of
 *   running to the end for nobody.
 *
 * Budgets are per process: each API replica has its own pool and slots.
 */
@Injectable()
export class InteractiveDatabase implements OnModuleDestroy {
  private readonly logger = new Logger(InteractiveDatabase.name);
  private readonly pool: Pool;
  private readonly slots: WorkspaceSlots;
  private readonly timeoutMs: number;

  constructor(private readonly config: DatabaseConfig) {
    this.timeoutMs = config.INTERACTIVE_STATEMENT_TIMEOUT_MS;
    this.pool = new Pool({
      connectionString: config.DATABASE_URL,
      max: config.INTERACTIVE_POOL_SIZE,
      application_name: INTERACTIVE_APPLICATION_NAME,
      options: startupOptions({ ...ANALYTICAL_SETTINGS, statement_timeout: String(this.timeoutMs) }),
      // Waiting for a connection is bounded like waiting for a workspace slot.
      connectionTimeoutMillis: this.timeoutMs,
    });
    // An idle connection that dies (Postgres restarted) must not crash the process.
    this.pool.on('error', () => undefined);
    this.slots = new WorkspaceSlots(Math.min(config.INTERACTIVE_QUERIES_PER_WORKSPACE, config.INTERACTIVE_POOL_SIZE));
  }

  /**
   * Runs one statement for `workspaceId` within the interactive budget. `subject` names what the
   * user should narrow if it is too slow. Rows come as `pg` parses them (int8 as string).
   */
  async query<T>(workspaceId: string, statement: Prisma.Sql, subject: QuerySubject): Promise<T[]> {
    const signal = currentRequestSignal();
    const release = await this.slot(workspaceId, signal);
    try {
      const client = await this.connect(signal);
      try {
        return await this.run<T>(client, statement, subject, signal);
      } finally {
        client.release();
      }
    } finally {
      release();
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.end();
  }

  private async slot(workspaceId: string, signal?: AbortSignal): Promise<ReleaseSlot> {
    try {
      return await this.slots.acquire(workspaceId, this.timeoutMs, signal);
    } catch (error) {
      if (error instanceof SlotWaitAbortedError) throw new ClientClosedRequestError();
      if (error instanceof SlotWaitTimeoutError) {
        throw new InteractiveQueriesBusyError(
          `this workspace already runs ${this.config.INTERACTIVE_QUERIES_PER_WORKSPACE} interactive queries ` +
            `(INTERACTIVE_QUERIES_PER_WORKSPACE) and none finished within ${this.timeoutMs} ms; retry later`,
          this.timeoutMs / 1000,
        );
      }
      throw error;
    }
  }

  private async connect(signal?: AbortSignal): Promise<PoolClient> {
    const connecting = this.pool.connect().catch((error: unknown) => {
      if (error instanceof Error && /timeout exceeded when trying to connect/i.test(error.message)) {
        throw new InteractiveQueriesBusyError(
          `every interactive connection (INTERACTIVE_POOL_SIZE = ${this.config.INTERACTIVE_POOL_SIZE}) stayed busy ` +
            `for ${this.timeoutMs} ms; retry later`,
          this.timeoutMs / 1000,
        );
      }
      throw error;
    });
    if (!signal) return connecting;
    return new Promise<PoolClient>((resolve, reject) => {
      const onAbort = () => {
        // The pool cannot withdraw the request: the connection goes straight back when it comes.
        connecting.then(
          (client) => client.release(),
          () => undefined,
        );
        reject(new ClientClosedRequestError());
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      connecting.then(
        (client) => {
          signal.removeEventListener('abort', onAbort);
          resolve(client);
        },
        (error: Error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  private async run<T>(
    client: PoolClient,
    statement: Prisma.Sql,
    subject: QuerySubject,
    signal?: AbortSignal,
  ): Promise<T[]> {
    if (signal?.aborted) throw new ClientClosedRequestError();
    let cancelling: Promise<void> | undefined;
    const onAbort = () => {
      cancelling = this.cancel(client);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await client.query({ text: statement.text, values: statement.values });
      return result.rows as T[];
    } catch (error) {
      if (postgresErrorCode(error) === QUERY_CANCELED) {
        if (signal?.aborted) throw new ClientClosedRequestError();
        throw new InteractiveQueryTimeoutError(subject, this.timeoutMs);
      }
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // The connection goes back to the pool only once no cancel can reach its next query.
      if (cancelling) await cancelling;
    }
  }

  /** Cancels the statement `client` is running, from a connection of its own (the pool may be full). */
  private async cancel(client: PoolClient): Promise<void> {
    // node-postgres sets processID from the server's BackendKeyData but does not declare it.
    const pid = (client as unknown as { processID: number | null }).processID;
    if (pid === null) return;
    const canceller = new Client({ connectionString: this.config.DATABASE_URL, connectionTimeoutMillis: 5_000 });
    try {
      await canceller.connect();
      await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
    } catch (error) {
      this.logger.warn(
        `could not cancel an abandoned query: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      await canceller.end().catch(() => undefined);
    }
  }
}
