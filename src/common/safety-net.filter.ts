import { ArgumentsHost, Catch, HttpException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

import { postgresErrorCode } from '../database/postgres-errors';
import { DatabaseUnavailableFilter } from './database-unavailable.filter';

/**
 * SQLSTATEs that only bad input provokes: data exceptions (class 22: NUL or a bad byte sequence,
 * a number or date out of range, text that is not a valid value of its type) and program limits
 * (class 54: nesting too deep, a statement too complex), and a NOT NULL column given null. Such an
 * error answers 400, not 500.
 */
const BAD_INPUT_SQLSTATE = /^(22|54)|^23502$/;

/** What a bad-input SQLSTATE means, for the answer (the database's own message may name internals). */
function reasonFor(code: string): string {
  if (code === '22021' || code === '22P05') return 'contains a character or byte sequence that cannot be stored';
  if (code === '22003') return 'contains a number out of the range that can be stored';
  if (code === '22008') return 'contains a date or time out of the range that can be stored';
  if (code.startsWith('54')) return 'is too large or too deeply nested to be evaluated';
  // A required value sent as null that no validation caught: a bug to fix where the field is read.
  if (code === '23502') return 'leaves a required value empty (null)';
  return 'contains a value that cannot be stored or evaluated';
}

/**
 * The global safety net: no input yields a 5xx. A database that cannot be reached still answers
 * 503 with Retry-After (DatabaseUnavailableFilter); a query that bad input made Postgres refuse
 * answers 400. Everything else goes on to Nest's default handling.
 */
@Catch()
export class SafetyNetFilter extends DatabaseUnavailableFilter {
  override catch(error: unknown, host: ArgumentsHost): void {
    const code = error instanceof HttpException ? undefined : postgresErrorCode(error);
    if (code !== undefined && BAD_INPUT_SQLSTATE.test(code) && host.getType() === 'http') {
      const reason = reasonFor(code);
      const reply = host.switchToHttp().getResponse<FastifyReply>();
      void reply.status(400).send({
        statusCode: 400,
        error: 'Bad Request',
        message: `request ${reason}`,
        errors: [{ field: 'request', reason }],
      });
      return;
    }
    super.catch(error, host);
  }
}
