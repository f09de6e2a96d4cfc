import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsDefined } from 'class-validator';
import { TextField } from '../common/dto-fields';

const KEY_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
const KEY_HINT = 'must be lower-case letters, digits, "-" or "_", starting with a letter or digit';

/*
 * The graph parts (entry, reentry, exit, steps, quietHours) are read by journey-definition.ts,
 * which names the path of every problem (`steps[3].next: unknown step "nudge-2"`); here they are
 * only allowed through.
 */

export class CreateJourneyDto {
  @TextField({
    description: 'Unique in the workspace',
    example: 'onboarding',
    maxLength: 100,
    pattern: KEY_PATTERN,
    patternHint: KEY_HINT,
  })
  key!: string;

  @TextField({ description: 'A name for people', example: 'Onboarding nudges' })
  name!: string;

  @ApiProperty({
    description: 'The audience whose entries start runs',
    example: { audience: 'signed-up', includeCurrentMembers: false },
  })
  @IsDefined({ message: '$property is required' })
  entry!: unknown;

  @ApiPropertyOptional({ description: '"never" (default), "after_exit" or {"after": {"amount": 30, "unit": "days"}}' })
  @Allow()
  reentry?: unknown;

  @ApiPropertyOptional({ description: 'The goal: {"when": "<condition>", "onAudienceExit": true}' })
  @Allow()
  exit?: unknown;

  @ApiProperty({ description: 'The graph: send, wait, wait_until, branch, split and exit steps; the first starts' })
  @IsDefined({ message: '$property is required' })
  steps!: unknown;

  @ApiPropertyOptional({ description: '{"start": "21:00", "end": "08:00", "timezone"?: "Europe/Paris"}' })
  @Allow()
  quietHours?: unknown;
}

export class UpdateJourneyDto {
  @TextField({ description: 'A name for people', optional: true })
  name?: string;

  @ApiPropertyOptional() @Allow() entry?: unknown;
  @ApiPropertyOptional() @Allow() reentry?: unknown;
  @ApiPropertyOptional() @Allow() exit?: unknown;
  @ApiPropertyOptional() @Allow() steps?: unknown;
  @ApiPropertyOptional() @Allow() quietHours?: unknown;
}

export class RunsQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: "One person's runs" })
  @Allow()
  profileId?: unknown;

  @ApiPropertyOptional() @Allow() limit?: unknown;
  @ApiPropertyOptional() @Allow() cursor?: unknown;
}

export class JourneyView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() key!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['draft', 'active', 'paused'] }) status!: string;
  @ApiProperty({ description: 'Current version; runs keep the version they entered with' }) version!: number;
  @ApiProperty({ type: 'object', additionalProperties: true }) entry!: unknown;
  @ApiProperty() reentry!: unknown;
  @ApiProperty({ type: 'object', additionalProperties: true }) exit!: unknown;
  @ApiProperty({ type: 'array', items: { type: 'object' } }) steps!: unknown[];
  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true }) quietHours!: unknown;
  @ApiProperty({ nullable: true }) activatedAt!: Date | null;
  @ApiProperty() createdAt!: Date;
  @ApiProperty() updatedAt!: Date;
}

export class JourneyListView {
  @ApiProperty({ type: [JourneyView] }) items!: JourneyView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
