import { BadRequestException } from '@nestjs/common';

import { problemBody } from '../common/problems';

/**
 * A funnel request that is well-formed JSON but does not make sense: a filter that does not parse,
 * an instant that is not one, `to` before `from`. Answered as 400 naming the field:
 * `steps[2].where: line 1, col 5: expected a property name`.
 */
export class FunnelRequestError extends BadRequestException {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(problemBody(400, 'Bad Request', [{ field, reason }]));
  }
}
