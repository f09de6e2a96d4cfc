import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, ValidateBy } from 'class-validator';

import { BoolField, IntField, IsAbsentOr, TextField } from '../common/dto-fields';
import { SUBJECT_LEVELS, SubjectLevel } from './language/audience-ast';

export const AUDIENCE_KEY_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const DEFAULT_REFRESH_INTERVAL_SECONDS = 3600;
/** Time-based conditions (inactive N days) are recomputed on this interval; a minute to a week. */
export const MIN_REFRESH_INTERVAL_SECONDS = 60;
export const MAX_REFRESH_INTERVAL_SECONDS = 604_800;
export const PREVIEW_SAMPLE_SIZE = 10;

const DEFINITION_DESCRIPTION =
  'The audience language as text (`never performed "Tutorial Viewed" and inactive 30 days`) or its JSON AST';

/** A definition is text or a JSON AST; its content is checked by the audience language, not here. */
function DefinitionField(options: { optional?: boolean } = {}) {
  const doc = {
    description: DEFINITION_DESCRIPTION,
    oneOf: [{ type: 'string' }, { type: 'object' }],
    example: 'performed "Order Completed" at least 3 times within 90 days where total > 100',
  };
  const shape = ValidateBy({
    name: 'isAudienceDefinition',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' || (typeof value === 'object' && value !== null && !Array.isArray(value)),
      defaultMessage: () => '$property must be the text of a definition or its JSON AST',
    },
  });
  return options.optional
    ? applyDecorators(ApiPropertyOptional(doc), IsOptional(), shape)
    : applyDecorators(ApiProperty(doc), shape);
}

function RefreshIntervalField() {
  return IntField({
    description: `Seconds between scheduled recomputations (default ${DEFAULT_REFRESH_INTERVAL_SECONDS})`,
    example: DEFAULT_REFRESH_INTERVAL_SECONDS,
    min: MIN_REFRESH_INTERVAL_SECONDS,
    max: MAX_REFRESH_INTERVAL_SECONDS,
    optional: true,
  });
}

function HistoricalDataField() {
  return BoolField({
    description:
      'Default true. With false, event conditions only see events at or after the moment the audience is created',
    optional: true,
  });
}

function LevelField() {
  return applyDecorators(
    ApiPropertyOptional({
      enum: SUBJECT_LEVELS,
      description:
        'Whom the audience is about: `profile` (people, the default) or `account` (the groups of `group` calls; ' +
        'conditions such as `any member performed "Source Connected"`, `members at least 2`, `created within 7 days`). ' +
        'Fixed once created',
    }),
    IsAbsentOr(),
    IsIn(SUBJECT_LEVELS, { message: `$property must be one of ${SUBJECT_LEVELS.join(', ')}` }),
  );
}

export class CreateAudienceDto {
  @TextField({
    description: 'Unique in the workspace; other audiences refer to it with `in audience "<key>"`',
    example: 'trial-users',
    maxLength: 64,
    pattern: AUDIENCE_KEY_PATTERN,
    patternHint: 'must be lower-case letters, digits, "-" or "_", starting with a letter or digit',
  })
  key!: string;

  @TextField({ description: 'A name for people', example: 'Trial users' })
  name!: string;

  @DefinitionField()
  definition!: unknown;

  @LevelField()
  level?: SubjectLevel;

  @HistoricalDataField()
  includeHistoricalData?: boolean;

  @RefreshIntervalField()
  refreshIntervalSeconds?: number;
}

export class UpdateAudienceDto {
  @TextField({ description: 'A name for people', example: 'Trial users', optional: true })
  name?: string;

  @DefinitionField({ optional: true })
  definition?: unknown;

  @HistoricalDataField()
  includeHistoricalData?: boolean;

  @RefreshIntervalField()
  refreshIntervalSeconds?: number;
}

export class PreviewAudienceDto {
  @DefinitionField()
  definition!: unknown;

  @LevelField()
  level?: SubjectLevel;

  @HistoricalDataField()
  includeHistoricalData?: boolean;
}

export class AudienceView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() key!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: SUBJECT_LEVELS, description: 'profile: members are profiles; account: members are accounts' })
  level!: SubjectLevel;
  @ApiProperty({ description: 'The canonical text of the definition' }) definitionText!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The definition as JSON AST' })
  definitionAst!: unknown;
  @ApiProperty() includeHistoricalData!: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) historyStartsAt!: string | null;
  @ApiProperty() refreshIntervalSeconds!: number;
  @ApiProperty({ description: 'Goes up when the definition or includeHistoricalData changes' }) version!: number;
  @ApiProperty({ enum: ['pending', 'computing', 'ready', 'failed'] }) status!: string;
  @ApiProperty({ type: String, nullable: true }) statusReason!: string | null;
  @ApiProperty() memberCount!: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastComputedAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class AudienceListView {
  @ApiProperty({ type: [AudienceView] }) items!: AudienceView[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as ?cursor= for the next page' })
  nextCursor!: string | null;
}

export class IdentityView {
  @ApiProperty({ example: 'email' }) type!: string;
  @ApiProperty({ example: 'ada@example.com' }) value!: string;
}

export class SampleProfileView {
  @ApiProperty({ format: 'uuid' }) profileId!: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) traits!: unknown;
  @ApiProperty({ type: [IdentityView] }) identities!: IdentityView[];
}

export class CompiledSqlView {
  @ApiProperty({ description: 'The count query, with $1… placeholders' }) sql!: string;
  @ApiProperty({ type: 'array', items: {}, description: 'The bound values of the placeholders, in order' })
  params!: unknown[];
}

export class SampleAccountView {
  @ApiProperty({ example: 'acme-inc' }) groupId!: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) traits!: unknown;
  @ApiProperty() memberCount!: number;
}

export class AudiencePreviewView extends CompiledSqlView {
  @ApiProperty() count!: number;
  @ApiProperty({
    type: 'array',
    items: {},
    description: `Up to ${PREVIEW_SAMPLE_SIZE} matching profiles (SampleProfileView), or accounts (SampleAccountView) for level account`,
  })
  sample!: (SampleProfileView | SampleAccountView)[];
}

export class AudienceExplainView extends CompiledSqlView {
  @ApiProperty({ type: 'array', items: {}, description: 'EXPLAIN (FORMAT JSON) of the count query' })
  plan!: unknown;
}
