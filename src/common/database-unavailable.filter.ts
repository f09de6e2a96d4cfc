import { ArgumentsHost, Catch, HttpException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { FastifyReply } from 'fastify';

/** SQLSTATE classes and client error codes that mean "Postgres cannot be reached right now". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'P1001',
  'P1002',
  'P1017',
  // Prisma's transaction API: a transaction that could not start in time (every connection busy)
  // or ran past its time limit on a saturated server. Overload: retry later, as for a lost connection.
  'P2028',
]);
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3]|53300)/;
const UNAVAILABLE_MESSAGE =
  /(Connection terminated|connect ECONNREFUSED|Can't reach database server|server closed the connection|the database system is (starting up|shutting down)|Client has encountered a connection error|timeout exceeded when trying to connect)/i;

export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** True when an error (or any error in its cause chain) says Postgres is unreachable, not that a query is wrong. */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 5) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
  if (UNAVAILABLE_MESSAGE.test(error.message)) return true;
  return isDatabaseUnavailable((error as { cause?: unknown }).cause, depth + 1);
}

/**
 * While Postgres is down, every request that needs it answers 503 with Retry-After instead of 500:
 * Segment libraries (and well-behaved clients) retry later, so no accepted event is lost.
 */
@Catch()
export class DatabaseUnavailableFilter extends BaseExceptionFilter {
  override catch(error: unknown, host: ArgumentsHost): void {
    if (!(error instanceof HttpException) && isDatabaseUnavailable(error) && host.getType() === 'http') {
      const reply = host.switchToHttp().getResponse<FastifyReply>();
      void reply
        .status(503)
        .header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS))
        .send({ statusCode: 503, error: 'Service Unavailable', message: 'the database is unavailable; retry later' });
      return;
    }
    super.catch(error, host);
  }
}
