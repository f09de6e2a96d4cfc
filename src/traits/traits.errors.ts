import { BadRequestException, ConflictException, NotFoundException } from '@nestjs/common';

import { describeProblems, FieldProblem, problemBody } from '../common/problems';

/** Domain errors of the traits API, already in the HTTP error shape. */

export class TraitNotFoundError extends NotFoundException {
  constructor() {
    super('computed trait not found');
  }
}

export class InvalidTraitError extends BadRequestException {
  constructor(readonly problems: FieldProblem[]) {
    super(problemBody(400, 'Bad Request', problems));
  }
}

export class DuplicateTraitKeyError extends ConflictException {
  constructor(
    readonly key: string,
    owner = 'another computed trait',
  ) {
    super(problemBody(409, 'Conflict', [{ field: 'key', reason: `"${key}" is already the key of ${owner}` }]));
  }
}

/** DELETE of a trait that audiences read through `computed <key> …`. */
export class TraitInUseError extends ConflictException {
  constructor(
    readonly key: string,
    readonly audiences: string[],
  ) {
    const names = audiences.map((audience) => `"${audience}"`).join(', ');
    super({
      statusCode: 409,
      error: 'Conflict',
      message: `computed trait "${key}" is used by audience ${names}; change or delete ${audiences.length === 1 ? 'it' : 'them'} first`,
      referencedBy: audiences,
    });
  }
}

/** DELETE of a profile trait that account traits read through `max computed <key> of members`. */
export class TraitReadByTraitsError extends ConflictException {
  constructor(
    readonly key: string,
    readonly traits: string[],
  ) {
    const names = traits.map((trait) => `"${trait}"`).join(', ');
    super({
      statusCode: 409,
      error: 'Conflict',
      message: `computed trait "${key}" is read by account trait ${names}; change or delete ${traits.length === 1 ? 'it' : 'them'} first`,
      referencedBy: traits,
    });
  }
}

/**
 * A saved definition that no longer validates (an older grammar, or edited in the database):
 * computing it again cannot help, so the job fails for good and the trait says why.
 */
export class TraitDefinitionError extends Error {
  constructor(
    readonly traitId: string,
    readonly problems: FieldProblem[],
  ) {
    super(`the saved definition of computed trait ${traitId} no longer validates: ${describeProblems(problems)}`);
    this.name = 'TraitDefinitionError';
  }
}
