import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID, ValidateBy } from 'class-validator';

import { IntField, IsAbsentOr, TextField } from '../common/dto-fields';
import { CursorField, PageQueryDto } from '../common/pagination';

/** Keys are what audiences and templates name: `computed logins_7d >= 3`, `{{ computed.logins_7d }}`. */
export const TRAIT_KEY_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
export const DEFAULT_TRAIT_REFRESH_SECONDS = 3600;
export const MIN_TRAIT_REFRESH_SECONDS = 60;
export const MAX_TRAIT_REFRESH_SECONDS = 604_800;
export const TRAIT_PREVIEW_SAMPLE_SIZE = 10;
export const TRAIT_LEVELS = ['profile', 'account'] as const;
export type TraitLevel = (typeof TRAIT_LEVELS)[number];

function TraitDefinitionField(options: { optional?: boolean } = {}) {
  const doc = {
    description:
      'The definition as text (`count "Login" within 7 days`, `sum "Order Completed".revenue within 90 days`) or its JSON AST',
    oneOf: [{ type: 'string' }, { type: 'object' }],
    example: 'count "Login" within 7 days',
  };
  const shape = ValidateBy({
    name: 'isTraitDefinition',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' || (typeof value === 'object' && value !== null && !Array.isArray(value)),
      defaultMessage: () => '$property must be the text of a definition or its JSON AST',
    },
  });
  return options.optional
    ? applyDecorators(ApiPropertyOptional(doc), IsAbsentOr(), shape)
    : applyDecorators(ApiProperty(doc), shape);
}

function LevelField() {
  return applyDecorators(
    ApiPropertyOptional({
      enum: TRAIT_LEVELS,
      default: 'profile',
      description:
        'profile (default): a value per person; account: a value per account (group), aggregated over its members',
    }),
    IsAbsentOr(),
    IsIn(TRAIT_LEVELS, { message: `$property must be one of ${TRAIT_LEVELS.join(', ')}` }),
  );
}

function RefreshField() {
  return IntField({
    description: `Seconds between scheduled recomputations, which move time windows (default ${DEFAULT_TRAIT_REFRESH_SECONDS})`,
    example: DEFAULT_TRAIT_REFRESH_SECONDS,
    min: MIN_TRAIT_REFRESH_SECONDS,
    max: MAX_TRAIT_REFRESH_SECONDS,
    optional: true,
  });
}

export class CreateTraitDto {
  @TextField({
    description: 'Unique in the workspace; audiences read it as `computed <key>`, templates as `computed.<key>`',
    example: 'logins_7d',
    maxLength: 64,
    pattern: TRAIT_KEY_PATTERN,
    patternHint: 'must be lower-case letters, digits or "_", starting with a letter',
  })
  key!: string;

  @TextField({ description: 'A name for people', example: 'Logins in the last 7 days' })
  name!: string;

  @TraitDefinitionField()
  definition!: unknown;

  @LevelField()
  level?: TraitLevel;

  @RefreshField()
  refreshIntervalSeconds?: number;
}

export class UpdateTraitDto {
  @TextField({ description: 'A name for people', example: 'Logins in the last 7 days', optional: true })
  name?: string;

  @TraitDefinitionField({ optional: true })
  definition?: unknown;

  @RefreshField()
  refreshIntervalSeconds?: number;
}

export class PreviewTraitDto {
  @TraitDefinitionField()
  definition!: unknown;

  @LevelField()
  level?: TraitLevel;
}

export class TraitHistoryQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: "Only this profile's (account trait: account id's) changes" })
  @IsOptional()
  @IsUUID('all', { message: '$property must be a UUID' })
  profileId?: string;

  @CursorField()
  declare cursor?: string;
}

export class TraitView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() key!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: TRAIT_LEVELS }) level!: string;
  @ApiProperty({ description: 'The canonical text of the definition' }) definitionText!: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) definitionAst!: unknown;
  @ApiProperty() refreshIntervalSeconds!: number;
  @ApiProperty({ description: 'Goes up when the definition changes' }) version!: number;
  @ApiProperty({ enum: ['pending', 'computing', 'ready', 'failed'] }) status!: string;
  @ApiProperty({ type: String, nullable: true }) statusReason!: string | null;
  @ApiProperty({ description: 'Profiles with a value as of the last full computation' }) valueCount!: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastComputedAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class TraitComputeView {
  @ApiProperty({ enum: ['queued'] }) status!: 'queued';
  @ApiProperty({ description: 'The BullMQ job of the computation' }) jobId!: string;
}

export class TraitListView {
  @ApiProperty({ type: [TraitView] }) items!: TraitView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class TraitSampleView {
  @ApiPropertyOptional({ format: 'uuid', description: 'Profile-level traits' }) profileId?: string;
  @ApiPropertyOptional({ format: 'uuid', description: 'Account-level traits: the account id' }) accountId?: string;
  @ApiPropertyOptional({ description: 'Account-level traits: the groupId' }) groupId?: string;
  @ApiProperty({ description: 'The JSON value' }) value!: unknown;
}

export class TopValueView {
  @ApiProperty() value!: unknown;
  @ApiProperty() count!: number;
}

export class TraitPreviewView {
  @ApiProperty({ description: 'Live profiles (accounts, for an account trait) that would have a value' })
  count!: number;
  @ApiProperty({ enum: ['number', 'value', 'list'] }) kind!: string;
  @ApiPropertyOptional({ type: Number, nullable: true }) min?: number | null;
  @ApiPropertyOptional({ type: Number, nullable: true }) max?: number | null;
  @ApiPropertyOptional({ type: Number, nullable: true }) mean?: number | null;
  @ApiPropertyOptional({ type: [TopValueView], description: 'The 10 most common values (lists: elements)' })
  topValues?: TopValueView[];
  @ApiProperty({ type: [TraitSampleView] }) sample!: TraitSampleView[];
  @ApiProperty({ description: 'The values query, with $1… placeholders' }) sql!: string;
  @ApiProperty({ type: 'array', items: {} }) params!: unknown[];
}

export class TraitChangeView {
  @ApiProperty({ format: 'uuid', description: 'The profile, or for an account trait the account id' })
  profileId!: string;
  @ApiProperty({ nullable: true, description: 'null: no value' }) oldValue!: unknown;
  @ApiProperty({ nullable: true, description: 'null: no value' }) newValue!: unknown;
  @ApiProperty({ format: 'date-time' }) at!: string;
}

export class TraitHistoryView {
  @ApiProperty({ type: [TraitChangeView] }) items!: TraitChangeView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
