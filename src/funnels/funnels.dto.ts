import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsObject, IsOptional, ValidateNested } from 'class-validator';

import {
  AUDIENCE_KEY_PATTERN,
  MAX_REFRESH_INTERVAL_SECONDS,
  MIN_REFRESH_INTERVAL_SECONDS,
} from '../audiences/audiences.dto';
import { BoolField, IntField, TextField } from '../common/dto-fields';
import { BREAKDOWN_TYPES, BreakdownType, FUNNEL_LIMITS, FUNNEL_MODES, FunnelMode } from './funnel-spec';

/** A list of nested DTOs: validated element by element, errors named `steps.2.event`. */
function NestedList(type: () => new () => object, options: { description: string; min: number; max: number }) {
  return applyDecorators(
    ApiProperty({ description: options.description, type, isArray: true }),
    IsArray({ message: '$property must be an array' }),
    ArrayMinSize(options.min, { message: `$property must have at least ${options.min} elements` }),
    ArrayMaxSize(options.max, { message: `$property must have at most ${options.max} elements` }),
    ValidateNested({ each: true }),
    Type(type),
  );
}

function OneOf(values: readonly string[], description: string) {
  return applyDecorators(
    ApiPropertyOptional({ description, enum: values }),
    IsOptional(),
    IsIn(values, { message: `$property must be one of ${values.join(', ')}` }),
  );
}

export class FunnelStepDto {
  @TextField({ description: 'Track event name', example: 'Order Completed' })
  event!: string;

  @TextField({
    description: 'Property filters in the audience language: one filter, or several in parentheses joined by `and`',
    example: '(plan = "Pro" and total > 100)',
    optional: true,
    maxLength: 5_000,
  })
  where?: string;
}

export class FunnelBreakdownDto {
  @ApiProperty({
    enum: BREAKDOWN_TYPES,
    description:
      '`event`: a property of the step-1 event that entered the person; `trait`: a current profile trait; ' +
      '`context`: a context field of the step-1 event (`referrer`, `utm_source`, `utm_medium`, `utm_campaign`, ' +
      '`device_type`, `os`, `locale`, … or a path such as `campaign.source`)',
  })
  @IsIn(BREAKDOWN_TYPES, { message: `$property must be one of ${BREAKDOWN_TYPES.join(', ')}` })
  type!: BreakdownType;

  @TextField({ description: 'Property name or path (`address.city`, `"Lifetime Value"`)', example: 'utm_source' })
  property!: string;

  @IntField({
    description: `Values with a row of their own, by step-1 count (default ${FUNNEL_LIMITS.defaultBreakdownLimit}); the rest are "other"`,
    min: 1,
    max: FUNNEL_LIMITS.maxBreakdownLimit,
    optional: true,
  })
  limit?: number;
}

export class FunnelDefinitionDto {
  @NestedList(() => FunnelStepDto, {
    description: 'The funnel steps in order',
    min: FUNNEL_LIMITS.minSteps,
    max: FUNNEL_LIMITS.maxSteps,
  })
  steps!: FunnelStepDto[];

  @IntField({
    description: `Conversion window in days, from the step-1 event (default ${FUNNEL_LIMITS.defaultWindowDays})`,
    min: 1,
    max: FUNNEL_LIMITS.maxWindowDays,
    optional: true,
  })
  windowDays?: number;
}

export class FunnelReportDto extends FunnelDefinitionDto {
  @TextField({
    description: 'People enter by doing step 1 at or after this instant (ISO 8601; no offset = UTC)',
    example: '2026-10-01',
  })
  from!: string;

  @TextField({ description: '… and before this instant', example: '2026-11-01' })
  to!: string;

  @OneOf(
    FUNNEL_MODES,
    '`sequential` (default): steps in order, anything in between; `strict`: no other funnel step in between',
  )
  mode?: FunnelMode;

  @ApiPropertyOptional({ type: FunnelBreakdownDto })
  @IsOptional()
  @IsObject({ message: '$property must be an object' })
  @ValidateNested()
  @Type(() => FunnelBreakdownDto)
  breakdown?: FunnelBreakdownDto;

  @BoolField({ description: 'Also compute the previous period of equal length (default true)', optional: true })
  comparePrevious?: boolean;
}

export class FunnelAudienceDto extends FunnelDefinitionDto {
  @IntField({
    description: 'People who reached this step (1-based) but not the next one',
    min: 1,
    max: FUNNEL_LIMITS.maxSteps - 1,
  })
  dropOffAfterStep!: number;

  @TextField({
    description: 'Audience key (as for POST /api/audiences)',
    example: 'checkout-drop-off',
    maxLength: 64,
    pattern: AUDIENCE_KEY_PATTERN,
    patternHint: 'must be lower-case letters, digits, "-" or "_", starting with a letter or digit',
  })
  key!: string;

  @TextField({ description: 'Audience name', example: 'Dropped at checkout' })
  name!: string;

  @BoolField({ description: 'Let the audience see events from before its creation (default true)', optional: true })
  includeHistoricalData?: boolean;

  @IntField({
    description: 'Seconds between scheduled recomputations of the audience',
    min: MIN_REFRESH_INTERVAL_SECONDS,
    max: MAX_REFRESH_INTERVAL_SECONDS,
    optional: true,
  })
  refreshIntervalSeconds?: number;
}

export class FunnelStepChangeView {
  @ApiProperty({ description: 'count − previous count' }) count!: number;
  @ApiProperty({ nullable: true, type: Number, description: '(count − previous) / previous; null when previous is 0' })
  countRatio!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'Difference in conversionFromPrevious (ratio points)' })
  conversionFromPrevious!: number | null;
  @ApiProperty({ nullable: true, type: Number }) conversionFromFirst!: number | null;
}

export class FunnelStepView {
  @ApiProperty({ description: '1-based' }) step!: number;
  @ApiProperty() event!: string;
  @ApiPropertyOptional() where?: string;
  @ApiProperty({ description: 'Unique people who reached the step' }) count!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'count / previous step count (1 for step 1)' })
  conversionFromPrevious!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'count / step-1 count' })
  conversionFromFirst!: number | null;
  @ApiProperty({ description: 'People who reached the previous step but not this one (0 for step 1)' })
  dropOff!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'dropOff / previous step count' })
  dropOffRate!: number | null;
  @ApiProperty({ nullable: true, type: Number }) medianSecondsFromPrevious!: number | null;
  @ApiProperty({ nullable: true, type: Number }) p90SecondsFromPrevious!: number | null;
  @ApiPropertyOptional({ type: FunnelStepChangeView, description: 'Versus the previous period' })
  change?: FunnelStepChangeView;
  @ApiProperty({
    type: [String],
    description: 'Why the step is flagged red: lowest_conversion, fell_vs_previous_period',
  })
  flags!: string[];
}

export class FunnelPeriodView {
  @ApiProperty() from!: string;
  @ApiProperty() to!: string;
  @ApiProperty({ type: [FunnelStepView] }) steps!: FunnelStepView[];
}

export class FunnelBreakdownRowView {
  @ApiProperty({ description: 'The value; "other" and "(none)" for the summed rest and for missing values' })
  value!: string;
  @ApiProperty({ enum: ['value', 'other', 'none'] }) kind!: 'value' | 'other' | 'none';
  @ApiProperty({ type: [FunnelStepView] }) steps!: FunnelStepView[];
}

export class FunnelDropOffView {
  @ApiProperty({ description: 'The step people failed to reach (1-based)' }) step!: number;
  @ApiProperty() event!: string;
  @ApiProperty({ enum: ['lowest_conversion', 'fell_vs_previous_period'] })
  reason!: 'lowest_conversion' | 'fell_vs_previous_period';
  @ApiProperty({ nullable: true, type: Number }) conversionFromPrevious!: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number }) previousConversionFromPrevious?: number | null;
  @ApiProperty() dropOff!: number;
}

export class FunnelReportView {
  @ApiProperty() from!: string;
  @ApiProperty() to!: string;
  @ApiProperty() windowDays!: number;
  @ApiProperty({ enum: FUNNEL_MODES }) mode!: FunnelMode;
  @ApiProperty({ description: 'The instant the report was computed at; later events are not counted' })
  computedAt!: string;
  @ApiProperty({ description: 'False while people who entered may still convert (to + window is after now)' })
  complete!: boolean;
  @ApiProperty({ type: [FunnelStepView] }) steps!: FunnelStepView[];
  @ApiPropertyOptional({ type: FunnelPeriodView }) previousPeriod?: FunnelPeriodView;
  @ApiPropertyOptional({ type: FunnelBreakdownDto }) breakdownBy?: {
    type: BreakdownType;
    property: string;
    limit: number;
  };
  @ApiProperty({ type: [FunnelBreakdownRowView] }) breakdown!: FunnelBreakdownRowView[];
  @ApiProperty({ type: [FunnelDropOffView] }) biggestDropOffs!: FunnelDropOffView[];
}
