import { LoggerService } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { randomUUID } from 'node:crypto';
import pino, { Logger } from 'pino';
import { LogLevel } from '../config/app-config';

/** One pino logger per process: Fastify logs requests with it, Nest logs everything else through it. */
export function createRootLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    redact: ['req.headers.authorization', 'req.headers.cookie'],
  });
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Honours a caller's `x-request-id` (so one id follows a request across services), else makes one. */
export function requestId(request: IncomingMessage | Http2ServerRequest): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Nest's start-up chatter (a line per module and per route, some 80 in all) says nothing an operator
 * acts on; at `info` it buried the quick start's banner. It stays available at `debug`.
 */
const BOOTSTRAP_CONTEXTS: ReadonlySet<string> = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
]);

/** Nest's logger interface over pino, keeping Nest's context as a field. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    if (context !== undefined && BOOTSTRAP_CONTEXTS.has(context)) this.logger.debug({ context }, String(message));
    else this.logger.info({ context }, String(message));
  }

  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, message instanceof Error ? message.message : String(message));
  }

  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }

  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }

  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }

  fatal(message: unknown, context?: string): void {
    this.logger.fatal({ context }, String(message));
  }
}
