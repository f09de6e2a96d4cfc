import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsDefined, IsOptional, IsUUID } from 'class-validator';

import { TextField } from '../common/dto-fields';
import { PageQueryDto } from '../common/pagination';

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

  @ApiPropertyOptional({
    description:
      "Account journeys: who of the account's members gets its emails, a profile condition " +
      '(e.g. `trait role = "owner"`); default every member with an email. A send step may have its own.',
  })
  @Allow()
  recipients?: unknown;
}

export class UpdateJourneyDto {
  @TextField({ description: 'A name for people', optional: true })
  name?: string;

  @ApiPropertyOptional() @Allow() entry?: unknown;
  @ApiPropertyOptional() @Allow() reentry?: unknown;
  @ApiPropertyOptional() @Allow() exit?: unknown;
  @ApiPropertyOptional() @Allow() steps?: unknown;
  @ApiPropertyOptional() @Allow() quietHours?: unknown;
  @ApiPropertyOptional() @Allow() recipients?: unknown;
}

export class RunsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: "One person's runs" })
  @IsOptional()
  @IsUUID('all', { message: '$property must be a UUID' })
  profileId?: string;
}

export class RunStepView {
  @ApiProperty() seq!: number;
  @ApiProperty() stepId!: string;
  @ApiProperty() kind!: string;
  @ApiProperty({
    description: 'passed, met, timeout, then, else, variant:<key>, sent, capped, converted, exited, exit',
  })
  outcome!: string;
  @ApiProperty() enteredAt!: Date;
  @ApiProperty() leftAt!: Date;
  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true }) detail!: unknown;
}

export class RunView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid', description: "The person, or the account's id for an account journey" })
  profileId!: string;
  @ApiProperty() version!: number;
  @ApiProperty({ enum: ['active', 'converted', 'exited', 'completed'] }) status!: string;
  @ApiProperty({ description: 'Where the run is (or ended)' }) stepId!: string;
  @ApiProperty({ nullable: true, type: String }) variant!: string | null;
  @ApiProperty({ nullable: true, type: Date, description: 'When its timer fires' }) dueAt!: Date | null;
  @ApiProperty() startedAt!: Date;
  @ApiProperty({ nullable: true, type: Date }) endedAt!: Date | null;
  @ApiProperty({ nullable: true, type: String }) endReason!: string | null;
  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true }) entryEvent!: unknown;
  @ApiProperty({ type: [RunStepView] }) history!: RunStepView[];
}

export class RunListView {
  @ApiProperty({ type: [RunView] }) items!: RunView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class StepReportView {
  @ApiProperty() stepId!: string;
  @ApiProperty() type!: string;
  @ApiProperty({ description: 'Runs that reached the step' }) entered!: number;
  @ApiProperty({ description: 'Runs at the step now' }) waiting!: number;
  @ApiProperty({ description: 'Runs that went on from it' }) passed!: number;
  @ApiProperty() sent!: number;
  @ApiProperty() failed!: number;
  @ApiProperty({ description: 'Suppressed or skipped (no address, unsubscribed)' }) suppressed!: number;
  @ApiProperty({ description: 'Skipped by the frequency cap' }) capped!: number;
}

export class VariantReportView {
  @ApiProperty({ description: 'Variant key, "holdout", or "all" when the journey has no split' }) variant!: string;
  @ApiProperty() runs!: number;
  @ApiProperty() conversions!: number;
  @ApiProperty() conversionRate!: number;
  @ApiProperty({ type: [Number], description: '95% Wilson interval of the rate' }) confidenceInterval!: [
    number,
    number,
  ];
  @ApiProperty({ nullable: true, type: Number, description: 'Rate minus the holdout rate' }) upliftOverHoldout!:
    number | null;
  @ApiProperty({ nullable: true, type: Number }) medianSecondsToGoal!: number | null;
}

export class JourneyReportView {
  @ApiProperty({ type: [StepReportView] }) steps!: StepReportView[];
  @ApiProperty({ type: [VariantReportView] }) variants!: VariantReportView[];
  @ApiProperty() runs!: number;
  @ApiProperty() active!: number;
  @ApiProperty() converted!: number;
}

export class JourneyView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() key!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['draft', 'active', 'paused'] }) status!: string;
  @ApiProperty({ description: 'Current version; runs keep the version they entered with' }) version!: number;
  @ApiProperty({
    enum: ['profile', 'account'],
    description: "The entry audience's level: a run per person, or per account",
  })
  level!: string;
  @ApiProperty({ nullable: true, type: String, description: 'Account journeys: the recipients condition' })
  recipients!: string | null;
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
