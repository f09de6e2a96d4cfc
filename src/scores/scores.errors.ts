import { BadRequestException, ConflictException, NotFoundException } from '@nestjs/common';

import { describeProblems, FieldProblem, problemBody } from '../common/problems';

/** Domain errors of the scores API, already in the HTTP error shape. */

export class ScoreNotFoundError extends NotFoundException {
  constructor() {
    super('score not found');
  }
}

export class SubjectNotFoundError extends NotFoundException {
  constructor(field: 'profileId' | 'accountId', value: string) {
    super(
      problemBody(404, 'Not Found', [
        { field, reason: `no ${field === 'profileId' ? 'live profile' : 'account'} "${value}"` },
      ]),
    );
  }
}

export class InvalidScoreError extends BadRequestException {
  constructor(readonly problems: FieldProblem[]) {
    super(problemBody(400, 'Bad Request', problems));
  }
}

export class DuplicateScoreKeyError extends ConflictException {
  constructor(
    readonly key: string,
    owner: 'trait' | 'score',
  ) {
    super(
      problemBody(409, 'Conflict', [
        {
          field: 'key',
          reason: `"${key}" is already the key of ${owner === 'trait' ? 'a computed trait' : 'another score (or its band)'}`,
        },
      ]),
    );
  }
}

/** DELETE of a score that audiences read through `computed <key> …`. */
export class ScoreInUseError extends ConflictException {
  constructor(
    readonly key: string,
    readonly audiences: string[],
  ) {
    const names = audiences.map((audience) => `"${audience}"`).join(', ');
    super({
      statusCode: 409,
      error: 'Conflict',
      message: `score "${key}" is used by audience ${names}; change or delete ${audiences.length === 1 ? 'it' : 'them'} first`,
      referencedBy: audiences,
    });
  }
}

/** A saved definition that no longer validates: computing again cannot help, the score says why. */
export class ScoreDefinitionError extends Error {
  constructor(
    readonly scoreId: string,
    readonly problems: FieldProblem[],
  ) {
    super(`the saved definition of score ${scoreId} no longer validates: ${describeProblems(problems)}`);
    this.name = 'ScoreDefinitionError';
  }
}

/**
 * The API's answer when a saved definition no longer validates (edited in the database, or written
 * by an older grammar): not a server error, but a score that must be given components and bands again.
 */
export class StoredScoreInvalidError extends ConflictException {
  constructor(cause: ScoreDefinitionError) {
    super({
      statusCode: 409,
      error: 'Conflict',
      message: `${cause.message}; send its components and bands again with PATCH`,
      errors: cause.problems,
    });
  }
}
