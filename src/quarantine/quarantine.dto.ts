import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsObject, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';

import { FieldProblemView } from '../tracking/tracking.dto';
import { QUARANTINE_KINDS, QuarantineKind } from './quarantine.repository';

export const DEFAULT_QUARANTINE_PAGE = 50;
export const MAX_QUARANTINE_PAGE = 500;

export class QuarantineQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Only messages sent with this source’s write key' })
  @IsOptional()
  @IsUUID('all', { message: '$property must be a UUID' })
  sourceId?: string;

  @ApiPropertyOptional({ enum: QUARANTINE_KINDS, description: 'rejected (not stored) or warning (stored, changed)' })
  @IsOptional()
  @IsIn(QUARANTINE_KINDS, { message: `$property must be one of ${QUARANTINE_KINDS.join(', ')}` })
  kind?: QuarantineKind;

  @ApiPropertyOptional({
    description: `Page size (default ${DEFAULT_QUARANTINE_PAGE})`,
    minimum: 1,
    maximum: MAX_QUARANTINE_PAGE,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: '$property must be an integer' })
  @Min(1, { message: '$property must be at least 1' })
  @Max(MAX_QUARANTINE_PAGE, { message: `$property must be at most ${MAX_QUARANTINE_PAGE}` })
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString({ message: '$property must be a string' })
  @MaxLength(200, { message: '$property must be at most 200 characters' })
  cursor?: string;
}

export class ReplayDto {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'The corrected message, in the shape it would have in a batch (`type` may be left out for a message ' +
      'sent to /v1/<type>). Without it, the message is replayed as it was received.',
  })
  @IsOptional()
  @IsObject({ message: '$property must be an object' })
  message?: Record<string, unknown>;
}

export class QuarantineEntryView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) sourceId!: string | null;
  @ApiProperty({ enum: QUARANTINE_KINDS }) kind!: string;
  @ApiProperty({ description: 'invalid, too_large, strict, replaced_characters or future_timestamp' })
  reason!: string;
  @ApiProperty({ nullable: true, type: String, description: 'The endpoint’s type for /v1/<type>; null for a batch' })
  type!: string | null;
  @ApiProperty({ nullable: true, type: String }) messageId!: string | null;
  @ApiProperty({ description: 'The message as received (NUL and unpaired surrogates replaced by U+FFFD)' })
  message!: unknown;
  @ApiProperty({ description: 'What the request gave the message besides its own fields: batch context, sentAt, ip' })
  envelope!: unknown;
  @ApiProperty({ type: [FieldProblemView], description: 'Why it was not stored (kind rejected)' })
  errors!: unknown;
  @ApiProperty({ type: [FieldProblemView], description: 'What was changed to store it (kind warning)' })
  warnings!: unknown;
  @ApiProperty() receivedAt!: Date;
}

export class QuarantinePageView {
  @ApiProperty({ type: [QuarantineEntryView] }) items!: QuarantineEntryView[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as ?cursor= for the next page' })
  nextCursor!: string | null;
}

export class ReplayView {
  @ApiProperty({ enum: ['stored', 'duplicate'], description: 'duplicate: an event with its messageId already existed' })
  status!: 'stored' | 'duplicate';
  @ApiProperty() messageId!: string;
  @ApiProperty({ type: [FieldProblemView], description: 'What was changed to store it' })
  warnings!: FieldProblemView[];
}
