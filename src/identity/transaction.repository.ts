import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { IdentityConflictError } from './identity.errors';

/** A transaction handle that repositories accept so one unit of work can span several of them. */
export type Tx = Prisma.TransactionClient;

/** Deadlocks and serialization failures are resolved by running the whole unit again. */
const RETRYABLE_CODES = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 6;

/** The SQLSTATE of a Postgres error, however deeply Prisma and its driver adapter wrapped it. */
export function postgresErrorCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 4) return undefined;
  const record = error as Record<string, unknown>;
  for (const nested of [record.meta, record.driverAdapterError, record.cause]) {
    const code = postgresErrorCode(nested, depth + 1);
    if (code !== undefined) return code;
  }
  // Prisma's own codes (P2010, …) have the same shape as SQLSTATEs; the driver's code is nested.
  const own = record.code;
  return typeof own === 'string' && /^[0-9A-Z]{5}$/.test(own) && !own.startsWith('P') ? own : undefined;
}

export function isRetryable(error: unknown): boolean {
  if (error instanceof IdentityConflictError) return true;
  const code = postgresErrorCode(error);
  return code !== undefined && RETRYABLE_CODES.has(code);
}

/**
 * Runs `work` again when it lost a race (IdentityConflictError, deadlock, serialization failure),
 * after a short random pause so that the racers do not collide again in lockstep.
 */
export async function withRetries<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !isRetryable(error)) throw error;
      await sleep(Math.random() * 5 * attempt);
    }
  }
}

@Injectable()
export class TransactionRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Runs `work` in one READ COMMITTED transaction. */
  async run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work, { maxWait: 10_000, timeout: 30_000 });
  }
}
