import { BadRequestException } from '@nestjs/common';
import { IsInt } from 'class-validator';

import { describeProblems, problemBody } from './problems';
import { createValidationPipe } from './validation';

class Body {
  @IsInt({ message: '$property must be an integer' })
  count!: number;
}

describe('problem messages', () => {
  it('read `field: reason`, joined by semicolons', () => {
    expect(
      describeProblems([
        { field: 'steps[1].event', reason: 'must be a string' },
        { field: 'to', reason: 'must be after from' },
      ]),
    ).toBe('steps[1].event: must be a string; to: must be after from');
    expect(problemBody(409, 'Conflict', [{ field: 'key', reason: 'is taken' }])).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: 'key: is taken',
      errors: [{ field: 'key', reason: 'is taken' }],
    });
  });

  it('are what the global validation pipe answers', async () => {
    const error = await createValidationPipe()
      .transform({ count: 'x' }, { type: 'body', metatype: Body })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestException);
    expect((error as BadRequestException).getResponse()).toMatchObject({
      message: 'count: must be an integer',
      errors: [{ field: 'count', reason: 'must be an integer' }],
    });
  });
});
