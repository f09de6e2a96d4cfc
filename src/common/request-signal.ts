import { AsyncLocalStorage } from 'node:async_hooks';

import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { catchError, Observable, throwError } from 'rxjs';

const storage = new AsyncLocalStorage<AbortSignal>();

/**
 * The AbortSignal of the HTTP request being handled: aborted when the client disconnects before
 * the answer is sent. Code far from the controller (the interactive database cancels the
 * request's query with it) reads it without every service passing it along.
 */
export function currentRequestSignal(): AbortSignal | undefined {
  return storage.getStore();
}

/** Runs `work` as if handling a request with this signal (for tests and non-HTTP callers). */
export function withRequestSignal<T>(signal: AbortSignal, work: () => T): T {
  return storage.run(signal, work);
}

/** An error that tells the client when to retry (429, 503): answered with a Retry-After header. */
interface RetryAfter {
  retryAfterSeconds: number;
}

function retryAfterOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('retryAfterSeconds' in error)) return undefined;
  const seconds = (error as RetryAfter).retryAfterSeconds;
  return typeof seconds === 'number' && seconds > 0 ? Math.ceil(seconds) : undefined;
}

/**
 * Global: gives every HTTP request its abort signal (see currentRequestSignal) and adds
 * Retry-After to errors that carry `retryAfterSeconds`.
 */
@Injectable()
export class RequestSignalInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const controller = new AbortController();
    // `close` fires when the connection closes; before the answer is written that means the
    // client gave up (or its connection broke).
    const onClose = () => {
      if (!reply.raw.writableFinished) controller.abort();
    };
    reply.raw.once('close', onClose);
    const handled = new Observable<unknown>((subscriber) =>
      // Subscribing calls the handler, so it and everything it awaits run with the signal.
      storage.run(controller.signal, () => next.handle().subscribe(subscriber)),
    );
    return handled.pipe(
      catchError((error: unknown) => {
        const seconds = retryAfterOf(error);
        if (seconds !== undefined) void reply.header('retry-after', String(seconds));
        return throwError(() => error);
      }),
    );
  }
}
