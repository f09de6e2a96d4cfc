import { ConflictException, NotFoundException } from '@nestjs/common';

import { badRequestFor } from '../common/validation';

/** Also what another workspace's token gets: 404 and no data. */
export class DestinationNotFoundError extends NotFoundException {
  constructor() {
    super('destination not found');
  }
}

export class AudienceNotFoundForDestinationError extends NotFoundException {
  constructor() {
    super('audience not found');
  }
}

export class ConnectionNotFoundError extends NotFoundException {
  constructor() {
    super('the audience is not connected to this destination');
  }
}

export class AlreadyConnectedError extends ConflictException {
  constructor() {
    super('the audience is already connected to this destination; disconnect it first to connect it differently');
  }
}

export class AudienceBusyError extends ConflictException {
  constructor(waitedMs: number) {
    super(
      `the audience is being computed (waited ${waitedMs} ms for it to finish, so that the backfill sees every member); connect again once its status is ready`,
    );
  }
}

export class DestinationUsedByJourneysError extends ConflictException {
  constructor(journeys: string[]) {
    super({
      statusCode: 409,
      error: 'Conflict',
      message: `the destination is used by journey ${journeys.map((j) => `"${j}"`).join(', ')}; change or delete ${journeys.length === 1 ? 'it' : 'them'} first`,
      referencedBy: journeys.map((j) => ({ journey: j })),
    });
  }
}

export function invalidDeliveryCursor() {
  return badRequestFor([{ field: 'cursor', reason: 'is not a cursor this API returned' }]);
}

export class TraitNotFoundForDestinationError extends NotFoundException {
  constructor() {
    super('computed trait not found');
  }
}

export class TraitConnectionNotFoundError extends NotFoundException {
  constructor() {
    super('the computed trait is not connected to this destination');
  }
}

export class TraitAlreadyConnectedError extends ConflictException {
  constructor() {
    super('the computed trait is already connected to this destination; disconnect it first to connect it differently');
  }
}

export class TraitBusyError extends ConflictException {
  constructor(waitedMs: number) {
    super(
      `the computed trait is being computed (waited ${waitedMs} ms for it to finish, so that the backfill sees every value); connect again once its status is ready`,
    );
  }
}
