import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { safeEqual } from '../auth/credentials';
import { FailedAuthLimiter, TooManyFailedAttemptsError } from '../auth/failed-auth-limiter.service';
import { AppConfig } from '../config/app-config';
import { OpsCollector } from './ops-collector.service';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';
const REFRESH_MS = 5_000;

/** The admin token, given as a bearer token or as the password of HTTP Basic (so a browser can log in). */
export function isAdmin(header: string | undefined, adminToken: string): boolean {
  if (!header) return false;
  const [scheme, value = ''] = header.split(/\s+/, 2);
  if (scheme?.toLowerCase() === 'bearer') return safeEqual(value, adminToken);
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return safeEqual(decoded.slice(decoded.indexOf(':') + 1), adminToken);
  }
  return false;
}

/**
 * bull-board at /admin/queues, behind the admin token. Delivery queues come and go with
 * destinations, so the list is refreshed from Postgres at most every few seconds.
 */
export function mountQueueDashboard(app: NestFastifyApplication): void {
  const config = app.get(AppConfig);
  const collector = app.get(OpsCollector);
  const limiter = app.get(FailedAuthLimiter);
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  const board = createBullBoard({
    queues: [],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Personae queues' } },
  });
  let refreshedAt = 0;

  const admitted = async (request: FastifyRequest): Promise<boolean> => {
    await limiter.assertAllowed(request.ip);
    const header = request.headers.authorization;
    if (isAdmin(header, config.ADMIN_TOKEN)) return true;
    // A browser's first request carries no credentials: only a wrong one counts as a failure.
    if (header) await limiter.recordFailure(request.ip);
    return false;
  };

  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    let ok: boolean;
    try {
      ok = await admitted(request);
    } catch (error) {
      if (!(error instanceof TooManyFailedAttemptsError)) throw error;
      return reply.code(429).header('retry-after', String(error.retryAfterSeconds)).send(error.getResponse());
    }
    if (!ok) {
      return reply
        .code(401)
        .header('www-authenticate', 'Basic realm="Personae queues", charset="UTF-8"')
        .send({ statusCode: 401, error: 'Unauthorized', message: 'the admin token is required (HTTP Basic password)' });
    }
    if (Date.now() - refreshedAt > REFRESH_MS) {
      board.replaceQueues((await collector.queues()).map((queue) => new BullMQAdapter(queue)));
      refreshedAt = Date.now();
    }
  };

  void app
    .getHttpAdapter()
    .getInstance()
    .register(async (scope) => {
      scope.addHook('onRequest', authenticate);
      await scope.register(serverAdapter.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
    });
}
