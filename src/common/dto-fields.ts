import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsString, Matches, Max, MaxLength, Min, MinLength, ValidateIf } from 'class-validator';

/** Composite decorators that validate a DTO field and document it in OpenAPI at once. */

/**
 * An optional field may be left out, but not sent as `null`: class-validator's IsOptional lets
 * `null` through to the service, where it would reach a NOT NULL column. With this, `null` fails
 * the field's own checks (`name must be a string`) like any other wrong type.
 */
export function IsAbsentOr(): PropertyDecorator {
  return ValidateIf((_object, value) => value !== undefined);
}

interface FieldOptions {
  description: string;
  example?: unknown;
  optional?: boolean;
}

function documented(options: FieldOptions, type: unknown, extra: Record<string, unknown> = {}): PropertyDecorator {
  const doc = { description: options.description, example: options.example, type, ...extra } as never;
  return options.optional ? applyDecorators(ApiPropertyOptional(doc), IsAbsentOr()) : ApiProperty(doc);
}

export function TextField(options: FieldOptions & { maxLength?: number; pattern?: RegExp; patternHint?: string }) {
  const maxLength = options.maxLength ?? 200;
  const decorators = [
    documented(options, String, { maxLength }),
    IsString({ message: '$property must be a string' }),
    MinLength(1, { message: '$property must not be empty' }),
    MaxLength(maxLength, { message: `$property must be at most ${maxLength} characters` }),
  ];
  if (options.pattern) {
    decorators.push(
      Matches(options.pattern, { message: `$property ${options.patternHint ?? 'has an invalid format'}` }),
    );
  }
  return applyDecorators(...decorators);
}

export function IntField(options: FieldOptions & { min?: number; max?: number }) {
  const decorators = [
    documented(options, Number, { minimum: options.min, maximum: options.max }),
    IsInt({ message: '$property must be an integer' }),
  ];
  if (options.min !== undefined)
    decorators.push(Min(options.min, { message: `$property must be at least ${options.min}` }));
  if (options.max !== undefined)
    decorators.push(Max(options.max, { message: `$property must be at most ${options.max}` }));
  return applyDecorators(...decorators);
}

export function BoolField(options: FieldOptions) {
  return applyDecorators(documented(options, Boolean), IsBoolean({ message: '$property must be a boolean' }));
}
