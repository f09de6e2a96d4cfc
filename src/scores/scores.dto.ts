import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, IsUUID, MaxLength, ValidateBy } from 'class-validator';

import { IntField, IsAbsentOr, TextField } from '../common/dto-fields';
import { SCORE_LEVELS, ScoreLevel, SNAPSHOT_PERIODS, SnapshotPeriod } from './score-definition';

/** Audiences read a score as `computed <key>` and `computed <key>_band`; templates as `computed.<key>`. */
export const SCORE_KEY_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
export const DEFAULT_SCORE_REFRESH_SECONDS = 3600;
export const MIN_SCORE_REFRESH_SECONDS = 60;
export const MAX_SCORE_REFRESH_SECONDS = 604_800;

/** A list whose items the score definition reader checks one by one (naming `components[2].points`). */
function ListField(options: { description: string; example: unknown; optional?: boolean }) {
  const doc = { description: options.description, example: options.example, type: 'array', items: { type: 'object' } };
  const shape = ValidateBy({
    name: 'isList',
    validator: {
      validate: (value: unknown) => Array.isArray(value),
      defaultMessage: () => '$property must be a list',
    },
  });
  return options.optional
    ? applyDecorators(ApiPropertyOptional(doc as never), IsAbsentOr(), shape)
    : applyDecorators(ApiProperty(doc as never), shape);
}

function ComponentsField(optional = false) {
  return ListField({
    description:
      'Adoption components: `{"name", "condition", "points"}`, the condition an audience condition at the score level (text or JSON AST), points 1–1000',
    example: [{ name: 'Source connected', condition: 'any member performed "Source Connected"', points: 40 }],
    optional,
  });
}

function BandsField(optional = false) {
  return ListField({
    description: 'Bands `{"name", "min"}`; one must start at 0 so every score has a band',
    example: [
      { name: 'green', min: 70 },
      { name: 'yellow', min: 40 },
      { name: 'red', min: 0 },
    ],
    optional,
  });
}

function SnapshotField() {
  return applyDecorators(
    ApiPropertyOptional({ enum: SNAPSHOT_PERIODS, default: 'weekly', description: 'How often everyone is recorded' }),
    IsAbsentOr(),
    IsIn(SNAPSHOT_PERIODS, { message: `$property must be one of ${SNAPSHOT_PERIODS.join(', ')}` }),
  );
}

function RefreshField() {
  return IntField({
    description: `Seconds between scheduled recomputations (default ${DEFAULT_SCORE_REFRESH_SECONDS})`,
    example: DEFAULT_SCORE_REFRESH_SECONDS,
    min: MIN_SCORE_REFRESH_SECONDS,
    max: MAX_SCORE_REFRESH_SECONDS,
    optional: true,
  });
}

export class CreateScoreDto {
  @TextField({
    description: 'Unique in the workspace among scores and computed traits',
    example: 'adoption_score',
    maxLength: 64,
    pattern: SCORE_KEY_PATTERN,
    patternHint: 'must be lower-case letters, digits or "_", starting with a letter',
  })
  key!: string;

  @TextField({ description: 'A name for people', example: 'Core adoption' })
  name!: string;

  @ApiPropertyOptional({ enum: SCORE_LEVELS, default: 'profile' })
  @IsAbsentOr()
  @IsIn(SCORE_LEVELS, { message: `$property must be one of ${SCORE_LEVELS.join(', ')}` })
  level?: ScoreLevel;

  @ComponentsField()
  components!: unknown[];

  @BandsField()
  bands!: unknown[];

  @SnapshotField()
  snapshot?: SnapshotPeriod;

  @RefreshField()
  refreshIntervalSeconds?: number;
}

export class UpdateScoreDto {
  @TextField({ description: 'A name for people', example: 'Core adoption', optional: true })
  name?: string;

  @ComponentsField(true)
  components?: unknown[];

  @BandsField(true)
  bands?: unknown[];

  @SnapshotField()
  snapshot?: SnapshotPeriod;

  @RefreshField()
  refreshIntervalSeconds?: number;
}

/** Whose score: a profile (profile-level scores) or an account by its groupId (account level). */
export class SubjectQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'A profile (profile-level scores)' })
  @IsOptional()
  @IsUUID('all', { message: '$property must be a UUID' })
  profileId?: string;

  @ApiPropertyOptional({ description: "An account's groupId (account-level scores)" })
  @IsOptional()
  @IsString({ message: '$property must be a string' })
  @MaxLength(1_000, { message: '$property must be at most 1000 characters' })
  accountId?: string;
}

export class DistributionQueryDto {
  @ApiPropertyOptional({ format: 'date-time', description: 'Periods starting at or after (default: all)' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: '$property must be an ISO 8601 date or instant' })
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Periods starting before (default: all)' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: '$property must be an ISO 8601 date or instant' })
  to?: string;
}

export class ScoreComponentView {
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'The canonical text of the condition' }) condition!: string;
  @ApiProperty() points!: number;
}

export class ScoreBandView {
  @ApiProperty() name!: string;
  @ApiProperty() min!: number;
}

export class ScoreView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() key!: string;
  @ApiProperty({ description: 'What audiences read the band as: `computed <bandKey> = "red"`' }) bandKey!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: SCORE_LEVELS }) level!: string;
  @ApiProperty({ type: [ScoreComponentView] }) components!: ScoreComponentView[];
  @ApiProperty({ type: [ScoreBandView], description: 'Highest min first' }) bands!: ScoreBandView[];
  @ApiProperty({ description: 'The highest possible score' }) maxScore!: number;
  @ApiProperty({ enum: SNAPSHOT_PERIODS }) snapshot!: string;
  @ApiProperty() refreshIntervalSeconds!: number;
  @ApiProperty({ description: 'Goes up when components or bands change' }) version!: number;
  @ApiProperty({ enum: ['pending', 'computing', 'ready', 'failed'] }) status!: string;
  @ApiProperty({ type: String, nullable: true }) statusReason!: string | null;
  @ApiProperty({ description: 'Subjects with a score as of the last full computation' }) valueCount!: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastComputedAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class ScoreListView {
  @ApiProperty({ type: [ScoreView] }) items!: ScoreView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class ScoreComputeView {
  @ApiProperty({ enum: ['queued'] }) status!: 'queued';
  @ApiProperty({ description: 'The BullMQ job of the computation' }) jobId!: string;
}

export class ExplainedComponentView extends ScoreComponentView {
  @ApiProperty({ description: 'Whether the condition holds now' }) holds!: boolean;
  @ApiProperty({ description: 'points when it holds, else 0' }) earned!: number;
}

export class ScoreValueView {
  @ApiProperty() value!: number;
  @ApiProperty() band!: string;
}

export class ScoreExplainView {
  @ApiProperty() key!: string;
  @ApiPropertyOptional({ format: 'uuid' }) profileId?: string;
  @ApiPropertyOptional() accountId?: string;
  @ApiProperty({ type: [ExplainedComponentView] }) components!: ExplainedComponentView[];
  @ApiProperty({ description: 'The sum of the points earned now' }) total!: number;
  @ApiProperty() band!: string;
  @ApiProperty({ type: ScoreValueView, nullable: true, description: 'The stored value (as of the last computation)' })
  stored!: ScoreValueView | null;
  @ApiProperty({ format: 'date-time' }) at!: string;
}

export class SnapshotPointView {
  @ApiProperty({ format: 'date-time' }) periodStart!: string;
  @ApiProperty() value!: number;
  @ApiProperty() band!: string;
}

export class ScoreHistoryView {
  @ApiProperty() key!: string;
  @ApiProperty({ enum: SNAPSHOT_PERIODS }) snapshot!: string;
  @ApiProperty({ type: [SnapshotPointView], description: 'One point per recorded period, oldest first' })
  items!: SnapshotPointView[];
  @ApiProperty({ type: ScoreValueView, nullable: true }) current!: ScoreValueView | null;
}

export class DistributionPeriodView {
  @ApiProperty({ format: 'date-time' }) periodStart!: string;
  @ApiProperty() total!: number;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' }, description: 'band name → count' })
  bands!: Record<string, number>;
}

export class ScoreDistributionView {
  @ApiProperty() key!: string;
  @ApiProperty({ type: [String], description: 'Band names, highest first' }) bandNames!: string[];
  @ApiProperty({ type: [DistributionPeriodView] }) items!: DistributionPeriodView[];
}
