import { NotFoundException } from '@nestjs/common';

import { badRequestFor } from '../common/validation';

/** Also what another workspace's token gets: 404 and no data. */
export class ProfileNotFoundError extends NotFoundException {
  constructor() {
    super('profile not found');
  }
}

export function invalidCursor() {
  return badRequestFor([{ field: 'cursor', reason: 'is not a cursor this API returned' }]);
}
