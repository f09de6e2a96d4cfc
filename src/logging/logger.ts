import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';

import { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger } from 'pino';

import { LogLevel } from '../config/app-config';

/**
 * Paths that are credentials themselves: an unsubscribe link (`/u/<token>`) unsubscribes whoever
 * it belongs to, so it must not be readable by everyone who reads the logs.
 */
const SECRET_PATHS = /^\/u\/[^/?#]+/;

/** The same inside a message (Fastify's "Route GET:/u/… not found"). */
const SECRET_PATHS_IN_TEXT = /(^|[\s:])\/u\/[^\s/?#]+/g;

/** A request URL fit for the logs: the token of an unsubscribe link replaced. */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(SECRET_PATHS, '/u/[redacted]');
}

function redactText(text: string): string {
  return text.replace(SECRET_PATHS_IN_TEXT, '$1/u/[redacted]');
}

interface LoggedRequest {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  headers?: Record<string, string | string[] | undefined>;
  socket?: { remotePort?: number };
}

/** Fastify's own request serializer, with the URL redacted (pino's serializers take precedence over Fastify's). */
function serializeRequest(request: LoggedRequest) {
  return {
    method: request.method,
    url: redactUrl(request.url),
    version: request.headers?.['accept-version'],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** One pino logger per process: Fastify logs requests with it, Nest logs everything else through it. */
export function createRootLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: ['req.headers.authorization', 'req.headers.cookie'],
    serializers: { req: serializeRequest },
    hooks: {
      logMethod(this: Logger, args: Parameters<pino.LogFn>, method: pino.LogFn) {
        const redacted = args.map((arg: unknown) => (typeof arg === 'string' ? redactText(arg) : arg));
        return method.apply(this, redacted as Parameters<pino.LogFn>);
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
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
