import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { findUnstorableText, nestsDeeperThan } from './storable-text';

/** The tracking API replaces such characters itself (and records a warning); see src/tracking. */
const TRACKING_PREFIX = '/v1/';

/** Levels of objects and arrays a management request body may nest. */
export const MAX_BODY_DEPTH = 64;

function refuse(reply: FastifyReply, field: string, reason: string): FastifyReply {
  return reply.code(400).send({
    statusCode: 400,
    error: 'Bad Request',
    message: `${field} ${reason}`,
    errors: [{ field, reason }],
  });
}

/**
 * Management requests whose body, query string or path holds NUL or an unpaired surrogate are
 * refused with 400 naming the field, before any code can pass the value to Postgres (which
 * cannot store NUL) or to the driver (which would silently change an unpaired surrogate). Bodies
 * nested deeper than MAX_BODY_DEPTH are refused too: validation and the compilers recurse.
 */
async function checkRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.url.startsWith(TRACKING_PREFIX)) return;
  const sources: [string, unknown][] = [
    ['', request.params],
    ['', request.query],
  ];
  for (const [prefix, value] of sources) {
    const field = findUnstorableText(value, prefix);
    if (field !== undefined) {
      await refuse(reply, field || 'query', 'must not contain NUL or unpaired surrogate characters');
      return;
    }
  }
  if (request.body === undefined || request.body === null) return;
  if (nestsDeeperThan(request.body, MAX_BODY_DEPTH)) {
    await refuse(reply, 'body', `must not nest objects or arrays deeper than ${MAX_BODY_DEPTH} levels`);
    return;
  }
  const field = findUnstorableText(request.body, '');
  if (field !== undefined) {
    await refuse(reply, field || 'body', 'must not contain NUL or unpaired surrogate characters');
  }
}

export function installUnstorableTextCheck(fastify: FastifyInstance): void {
  fastify.addHook('preHandler', checkRequest);
}
