import { BadRequestException, ConflictException, NotFoundException } from '@nestjs/common';

import { FieldProblem, problemBody } from '../common/problems';

/** Also what another workspace's token gets: 404 and no data. */
export class JourneyNotFoundError extends NotFoundException {
  constructor() {
    super('journey not found');
  }
}

/** The definition does not read: every problem names its path (`steps[3].next`). */
export class InvalidJourneyError extends BadRequestException {
  constructor(readonly problems: FieldProblem[]) {
    super(problemBody(400, 'Bad Request', problems));
  }
}

export class DuplicateJourneyKeyError extends ConflictException {
  constructor(key: string) {
    super(problemBody(409, 'Conflict', [{ field: 'key', reason: `journey "${key}" already exists` }]));
  }
}

export class JourneyNotRunningError extends ConflictException {
  constructor() {
    super(
      problemBody(409, 'Conflict', [{ field: 'status', reason: 'a draft journey is not running; activate it first' }]),
    );
  }
}
