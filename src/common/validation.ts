import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';

import { FieldProblem, problemBody } from './problems';

export type { FieldProblem } from './problems';

/** Flattens class-validator errors into `{field, reason}` with dotted paths (`steps.1.event`). */
export function fieldProblems(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({
      field,
      reason: message.startsWith(`${error.property} `) ? message.slice(error.property.length + 1) : message,
    }));
    return [...own, ...fieldProblems(error.children ?? [], field)];
  });
}

export function badRequestFor(problems: FieldProblem[]): BadRequestException {
  return new BadRequestException(problemBody(400, 'Bad Request', problems));
}

/** The global pipe: unknown fields are refused, and every error names its field and reason. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => badRequestFor(fieldProblems(errors)),
  });
}
