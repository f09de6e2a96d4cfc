import {
  BadRequestException,
  ConflictException,
  HttpException,
  HttpStatus,
  PayloadTooLargeException,
  UnauthorizedException,
} from '@nestjs/common';

import { problemBody } from '../common/problems';
import { badRequestFor, FieldProblem } from '../common/validation';

/** The write key is missing or belongs to no source. */
export class UnknownWriteKeyError extends UnauthorizedException {
  constructor(reason: string) {
    super(reason);
  }
}

/** Messages are invalid and none was stored as an event (they are in the quarantine). */
export class InvalidMessagesError extends BadRequestException {
  constructor(readonly problems: FieldProblem[]) {
    super(badRequestFor(problems).getResponse());
  }
}

/** Every message exceeds 32 KB (or the request its limit); no event of the request was stored. */
export class MessageTooLargeError extends PayloadTooLargeException {
  constructor(readonly problems: FieldProblem[]) {
    super(problemBody(HttpStatus.PAYLOAD_TOO_LARGE, 'Payload Too Large', problems));
  }
}

/** The source sent more events this second than its limit; the client should retry later. */
export class RateLimitedError extends HttpException {
  constructor(readonly retryAfterSeconds: number) {
    super(
      {
        statusCode: HttpStatus.TOO_MANY_REQUESTS,
        error: 'Too Many Requests',
        message: `rate limit exceeded; retry after ${retryAfterSeconds} s`,
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/** A quarantined message's source was deleted: there is no source to store its event under. */
export class SourceGoneError extends ConflictException {
  constructor() {
    super('the source this message was sent to no longer exists; it cannot be replayed');
  }
}
