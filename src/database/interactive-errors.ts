import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * What an interactive query is about, for the error a user sees when it is too slow: the request
 * field to narrow (`definition`, `steps`, …) and how to narrow it.
 */
export interface QuerySubject {
  field: string;
  narrow: string;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** 422: the query ran past INTERACTIVE_STATEMENT_TIMEOUT_MS and was stopped; nothing changed. */
export class InteractiveQueryTimeoutError extends HttpException {
  constructor(subject: QuerySubject, limitMs: number) {
    const reason =
      `the query ran longer than the ${seconds(limitMs)} limit for interactive queries ` +
      `(INTERACTIVE_STATEMENT_TIMEOUT_MS) and was stopped; narrow it: ${subject.narrow}`;
    super(
      {
        statusCode: HttpStatus.UNPROCESSABLE_ENTITY,
        error: 'Unprocessable Entity',
        message: `${subject.field}: ${reason}`,
        errors: [{ field: subject.field, reason }],
      },
      HttpStatus.UNPROCESSABLE_ENTITY,
    );
  }
}

/**
 * 429: the workspace already runs as many interactive queries as it may (or every interactive
 * connection is busy) and none finished in time. Retry-After tells when to try again.
 */
export class InteractiveQueriesBusyError extends HttpException {
  constructor(
    reason: string,
    readonly retryAfterSeconds: number,
  ) {
    super(
      {
        statusCode: HttpStatus.TOO_MANY_REQUESTS,
        error: 'Too Many Requests',
        message: `workspace: ${reason}`,
        errors: [{ field: 'workspace', reason }],
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/**
 * The client went away and its query was cancelled. Nobody reads the answer; 499 (nginx's "client
 * closed request") keeps logs and metrics from counting it as a server error.
 */
export class ClientClosedRequestError extends HttpException {
  constructor() {
    super({ statusCode: 499, error: 'Client Closed Request', message: 'the client closed the request' }, 499);
  }
}
