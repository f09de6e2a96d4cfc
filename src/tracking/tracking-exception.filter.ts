import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

import { RateLimitedError } from './tracking.errors';

/** A 429 needs Retry-After, which an HttpException cannot carry on its own. */
@Catch(RateLimitedError)
export class RateLimitedFilter implements ExceptionFilter<RateLimitedError> {
  catch(error: RateLimitedError, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    void reply
      .status(error.getStatus())
      .header('retry-after', String(error.retryAfterSeconds))
      .send(error.getResponse());
  }
}
