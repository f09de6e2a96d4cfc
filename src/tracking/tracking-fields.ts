import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsDefined,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  MinLength,
  ValidateBy,
  ValidateIf,
} from 'class-validator';

import { MAX_IDENTIFIER_LENGTH } from '../identity/identifiers';
import { isTimestamp } from './timestamps';

/** Composite decorators for Segment message fields: validate and document at once. */

interface Described {
  description: string;
  example?: unknown;
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/**
 * Whether a `userId` / `anonymousId` is given: `null` (analytics.js) and `""` (RudderStack's
 * browser SDK, before identify) count as absent.
 */
export function isSubjectIdGiven(value: unknown): boolean {
  return isPresent(value) && value !== '';
}

/** `userId` / `anonymousId`: at least one of the pair is required (see isSubjectIdGiven). */
export function SubjectIdField(other: 'userId' | 'anonymousId', options: Described) {
  return applyDecorators(
    ApiPropertyOptional({ ...options, type: String, maxLength: MAX_IDENTIFIER_LENGTH, nullable: true }),
    ValidateIf(
      (message: Record<string, unknown>, value: unknown) =>
        isSubjectIdGiven(value) || !isSubjectIdGiven(message[other]),
    ),
    ValidateBy({
      name: 'isSubjectIdGiven',
      validator: {
        validate: isSubjectIdGiven,
        defaultMessage: () => `$property is required unless ${other} is given`,
      },
    }),
    IsString({ message: '$property must be a string' }),
    MinLength(1, { message: '$property must not be empty' }),
    MaxLength(MAX_IDENTIFIER_LENGTH, { message: `$property must be at most ${MAX_IDENTIFIER_LENGTH} characters` }),
  );
}

export function RequiredTextField(options: Described & { maxLength: number }) {
  return applyDecorators(
    ApiPropertyOptional({ ...options, type: String, maxLength: options.maxLength }),
    IsDefined({ message: '$property is required' }),
    IsString({ message: '$property must be a string' }),
    MinLength(1, { message: '$property must not be empty' }),
    MaxLength(options.maxLength, { message: `$property must be at most ${options.maxLength} characters` }),
  );
}

export function OptionalTextField(options: Described & { maxLength: number }) {
  return applyDecorators(
    ApiPropertyOptional({ ...options, type: String, maxLength: options.maxLength, nullable: true }),
    IsOptional(),
    IsString({ message: '$property must be a string' }),
    MaxLength(options.maxLength, { message: `$property must be at most ${options.maxLength} characters` }),
  );
}

/** An ISO-8601 date-time such as `2024-05-01T12:00:00.000Z`, read leniently (see timestamps.ts). */
export function TimestampField(options: Described) {
  return applyDecorators(
    ApiPropertyOptional({ ...options, type: String, format: 'date-time' }),
    IsOptional(),
    ValidateBy({
      name: 'isIsoTimestamp',
      validator: {
        validate: isTimestamp,
        defaultMessage: () => '$property must be an ISO-8601 date-time',
      },
    }),
  );
}

/** A JSON object (properties, traits, context, integrations). */
export function JsonObjectField(options: Described) {
  return applyDecorators(
    ApiPropertyOptional({ ...options, type: 'object', additionalProperties: true }),
    IsOptional(),
    IsObject({ message: '$property must be an object' }),
  );
}
