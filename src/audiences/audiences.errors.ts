import { BadRequestException, ConflictException, NotFoundException } from '@nestjs/common';

import { describeProblems, FieldProblem, problemBody } from '../common/problems';

/**
 * Domain errors of the audiences API, already in the HTTP error shape
 * `{statusCode, error, message, errors: [{field, reason}]}` so the service can throw them as they are.
 */

/** Also what another workspace's token gets: 404 and no data. */
export class AudienceNotFoundError extends NotFoundException {
  constructor() {
    super('audience not found');
  }
}

/** The definition does not parse or validate; `problems` carry the parser's line and column. */
export class InvalidDefinitionError extends BadRequestException {
  constructor(readonly problems: FieldProblem[]) {
    super(problemBody(400, 'Bad Request', problems));
  }
}

/**
 * A saved definition that no longer validates: stored under an older grammar, or edited in the
 * database. Computing it again cannot help; `explain` answers 409 naming the problems.
 */
export class AudienceDefinitionError extends ConflictException {
  constructor(
    readonly audienceId: string,
    readonly problems: FieldProblem[],
  ) {
    super({
      ...problemBody(409, 'Conflict', problems),
      message: `the saved definition of audience ${audienceId} no longer validates: ${describeProblems(problems)}`,
    });
  }
}

export class UnknownAudienceReferenceError extends InvalidDefinitionError {
  constructor(
    readonly keys: string[],
    field = 'definition',
  ) {
    super(
      keys.map((key) => ({
        field,
        reason: `refers to audience "${key}", which does not exist in this workspace`,
      })),
    );
  }
}

export class UnknownTraitReferenceError extends InvalidDefinitionError {
  constructor(
    readonly keys: string[],
    field = 'definition',
  ) {
    super(
      keys.map((key) => ({
        field,
        reason: `reads computed trait "${key}", which does not exist in this workspace`,
      })),
    );
  }
}

/** `computed k` naming a trait of the other level (an account trait in a profile condition, or back). */
export class TraitLevelMismatchError extends InvalidDefinitionError {
  constructor(readonly misplaced: { key: string; at: 'profile' | 'account' }[]) {
    super(
      misplaced.map(({ key, at }) => ({
        field: 'definition',
        reason:
          at === 'profile'
            ? `reads computed trait "${key}" in a condition on a person, but it is an account-level trait`
            : `reads computed trait "${key}" in a condition on an account, but it is a profile-level trait: say which members it is about, e.g. \`any member computed ${key} …\``,
      })),
    );
  }
}

export class AudienceCycleError extends InvalidDefinitionError {
  constructor(
    readonly cycle: string[],
    field = 'definition',
  ) {
    const path = cycle.map((key) => `"${key}"`).join(' → ');
    const reason =
      cycle.length === 2 ? `an audience cannot refer to itself (${path})` : `would make a cycle of audiences: ${path}`;
    super([{ field, reason }]);
  }
}

export class DuplicateAudienceKeyError extends ConflictException {
  constructor(readonly key: string) {
    super(problemBody(409, 'Conflict', [{ field: 'key', reason: `"${key}" is already the key of another audience` }]));
  }
}

/** DELETE of an audience that other audiences use through `in audience "…"`. */
export class AudienceInUseError extends ConflictException {
  constructor(
    readonly key: string,
    readonly referrers: string[],
  ) {
    const names = referrers.map((referrer) => `"${referrer}"`).join(', ');
    super({
      statusCode: 409,
      error: 'Conflict',
      message: `audience "${key}" is used by ${names}; change or delete ${referrers.length === 1 ? 'it' : 'them'} first`,
      referencedBy: referrers,
    });
  }
}

export class AudienceUsedByJourneysError extends ConflictException {
  constructor(key: string, journeys: string[]) {
    super({
      statusCode: 409,
      error: 'Conflict',
      message: `audience "${key}" is the entry of journey ${journeys.map((j) => `"${j}"`).join(', ')}; change or delete ${journeys.length === 1 ? 'it' : 'them'} first`,
      referencedBy: journeys.map((j) => ({ journey: j })),
    });
  }
}
