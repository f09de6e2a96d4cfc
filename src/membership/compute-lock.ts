import { isStatementTimeout } from '../database/postgres-errors';
import { ANALYTICAL_SETTINGS, setLocal } from '../database/query-settings';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { ComputationTimeoutError } from './membership.errors';

/**
 * How long a computation's transaction may last at least (a full computation of a million profiles
 * takes tens of seconds; Prisma's default is 5 s); a full one also gets its statement limit and a minute.
 */
export const COMPUTE_TRANSACTION_TIMEOUT_MS = 15 * 60_000;

/**
 * A full computation (of an audience, a computed trait or a score) in one transaction holding its
 * advisory lock (`lock`): once the lock is held (waiting for it is not limited), each statement may
 * run `limitMs` with the analytical settings; a statement running longer ends the computation with
 * ComputationTimeoutError, and the transaction leaves the previous values as they were.
 */
export async function inComputeLock<T>(
  prisma: PrismaService,
  lock: Prisma.Sql,
  limitMs: number,
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  try {
    return await prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw(lock);
        await tx.$queryRaw(setLocal({ ...ANALYTICAL_SETTINGS, statement_timeout: String(limitMs) }));
        return work(tx);
      },
      { maxWait: 10_000, timeout: Math.max(COMPUTE_TRANSACTION_TIMEOUT_MS, limitMs + 60_000) },
    );
  } catch (error) {
    if (isStatementTimeout(error)) throw new ComputationTimeoutError(limitMs);
    throw error;
  }
}

/**
 * A real-time batch of computed traits or scores: every lock in one statement (`locks`, in id order,
 * so two batches cannot deadlock and a full computation holds one), with the analytical settings.
 */
export function inBatchLocks<T>(prisma: PrismaService, locks: Prisma.Sql, work: (tx: Tx) => Promise<T>): Promise<T> {
  return prisma.$transaction(
    async (tx) => {
      await tx.$executeRaw(locks);
      await tx.$queryRaw(setLocal(ANALYTICAL_SETTINGS));
      return work(tx);
    },
    { maxWait: 10_000, timeout: COMPUTE_TRANSACTION_TIMEOUT_MS },
  );
}
