import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';

export const MAX_PAGE = 1_000;
export const DEFAULT_PAGE = 100;

function PageSizeField() {
  return applyDecorators(
    ApiPropertyOptional({
      description: `Page size (default ${DEFAULT_PAGE})`,
      type: Number,
      minimum: 1,
      maximum: MAX_PAGE,
    }),
    IsOptional(),
    Type(() => Number),
    IsInt({ message: '$property must be an integer' }),
    Min(1, { message: '$property must be at least 1' }),
    Max(MAX_PAGE, { message: `$property must be at most ${MAX_PAGE}` }),
  );
}

function CursorField() {
  return applyDecorators(
    ApiPropertyOptional({ description: 'nextCursor of the previous page' }),
    IsOptional(),
    IsString({ message: '$property must be a string' }),
    MaxLength(200, { message: '$property must be at most 200 characters' }),
  );
}

export class MembersQueryDto {
  @PageSizeField() limit?: number;
  @CursorField() cursor?: string;
}

export class TransitionsQueryDto {
  @PageSizeField() limit?: number;
  @CursorField() cursor?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Only this profile’s transitions' })
  @IsOptional()
  @IsUUID('all', { message: '$property must be a UUID' })
  profileId?: string;
}

export class MemberView {
  @ApiProperty({ format: 'uuid' }) profileId!: string;
  @ApiProperty() enteredAt!: Date;
}

export class MembersPageView {
  @ApiProperty({ type: [MemberView] }) items!: MemberView[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as ?cursor= for the next page' })
  nextCursor!: string | null;
}

export class TransitionView {
  @ApiProperty({ description: 'Ledger id (a 64-bit integer, as a string)' }) id!: string;
  @ApiProperty({ format: 'uuid' }) profileId!: string;
  @ApiProperty({ enum: ['entered', 'exited'] }) kind!: 'entered' | 'exited';
  @ApiProperty() at!: Date;
  @ApiProperty({ description: 'Version of the definition that decided the transition' }) audienceVersion!: number;
}

export class TransitionsPageView {
  @ApiProperty({ type: [TransitionView] }) items!: TransitionView[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as ?cursor= for the next page' })
  nextCursor!: string | null;
}

export class ComputeQueuedView {
  @ApiProperty({ enum: ['queued'] }) status!: 'queued';
  @ApiProperty({ description: 'The compute job’s id' }) jobId!: string;
}
