import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';

import { DatabaseConfig } from '../config/app-config';
import { startupOptions } from '../database/query-settings';
import { Prisma, PrismaClient } from '../generated/prisma/client';

/** The one Prisma client of a process. Only repositories inject it. */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  private readonly pool: Pool;

  constructor(config: DatabaseConfig) {
    // DATABASE_POOL_SIZE connections per process, shared by Prisma and the direct statements of
    // `query`; interactive queries have a pool of their own (InteractiveDatabase). JIT is off: its
    // statements read by index, and JIT compiled every one whose estimate passed jit_above_cost
    // (a delivery claim with its subqueries, a table without statistics) for 30–45 ms, several
    // times what the statement then took (bench:sync).
    const pool = new Pool({
      connectionString: config.DATABASE_URL,
      max: config.DATABASE_POOL_SIZE,
      options: startupOptions({ jit: 'off' }),
    });
    super({ adapter: new PrismaPg(pool) });
    this.pool = pool;
    // An idle connection that dies (Postgres restarted) must not crash the process: the next
    // query opens a new one, or fails and says so.
    pool.on('error', () => undefined);
  }

  /**
   * Runs one statement on Prisma's own connection pool without Prisma's query engine, which
   * costs more CPU than the statement for the large parameters of the ingest path (it copies and
   * re-types every parameter and row). Autocommit; a failed statement leaves the connection usable.
   * Rows come as `pg` parses them: timestamptz as Date, json/jsonb parsed, int4 as number.
   *
   * A `name` prepares the statement once per connection (its text must then never vary, only its
   * values): parsing and planning a large statement each time cost Postgres more than running it.
   */
  async query<T>(statement: Prisma.Sql, name?: string): Promise<T[]> {
    const result = await this.pool.query({ name, text: statement.text, values: statement.values });
    return result.rows as T[];
  }

  /**
   * One READ COMMITTED transaction on a connection of the pool, its statements sent without
   * Prisma's query engine (as `query` does): for units of work that move thousands of rows in a
   * few set-based statements with large array parameters (the journey runner). Rolled back when
   * `work` throws.
   */
  async directTransaction<T>(work: (tx: DirectTx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A checked-out client has no pool listener: a connection that dies between two statements
    // (Postgres restarted, the network cut) would emit an unhandled 'error' and end the process.
    // The statement in flight, or the next one, fails instead, and the transaction rolls back.
    const ignore = (): void => undefined;
    client.on('error', ignore);
    try {
      await client.query('BEGIN');
      const tx: DirectTx = {
        rows: async <R>(statement: Prisma.Sql) =>
          (await client.query({ text: statement.text, values: statement.values })).rows as R[],
        run: async (statement: Prisma.Sql) =>
          (await client.query({ text: statement.text, values: statement.values })).rowCount ?? 0,
      };
      const result = await work(tx);
      await client.query('COMMIT');
      client.off('error', ignore);
      client.release();
      return result;
    } catch (error) {
      await client.query('ROLLBACK').then(
        () => client.release(),
        (rollbackError: unknown) => client.release(rollbackError instanceof Error ? rollbackError : true),
      );
      client.off('error', ignore);
      throw error;
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
    await this.pool.end();
  }
}

/** A transaction of `directTransaction`: rows of a statement, or the number of rows it changed. */
export interface DirectTx {
  rows<R>(statement: Prisma.Sql): Promise<R[]>;
  run(statement: Prisma.Sql): Promise<number>;
}
