import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
} from 'class-validator';

import { BoolField, TextField } from '../common/dto-fields';
import { IdParamDto } from '../common/id-param.dto';
import { DESTINATION_TYPES, type DestinationType } from './destination-config';
import { DELIVERY_STATUSES, DeliveryStatus, SendTransitions } from './destinations.repository';

export const MAX_RATE_LIMIT = 10_000;
export const DEFAULT_DELIVERIES_PAGE = 100;
export const MAX_DELIVERIES_PAGE = 1_000;

function RateLimitField() {
  return applyDecorators(
    ApiPropertyOptional({
      description: 'Most messages a second this destination is sent, across all workers (null: no limit)',
      type: Number,
      nullable: true,
      minimum: 1,
      maximum: MAX_RATE_LIMIT,
      example: 10,
    }),
    IsOptional(),
    ValidateIf((_, value) => value !== null),
    IsInt({ message: '$property must be an integer or null' }),
    Min(1, { message: '$property must be at least 1' }),
    Max(MAX_RATE_LIMIT, { message: `$property must be at most ${MAX_RATE_LIMIT}` }),
  );
}

const CONFIG_DESCRIPTION =
  'email: {smtpUrl? | host?, port?, secure?, auth?: {user, pass}, from, replyTo?, subject, html?, text?, maxConnections?} ' +
  '(no smtpUrl and no host: the server SMTP_URL). webhook: {url, secret, headers?}. Templates are Liquid. ' +
  'segment: {url, writeKey} (a Segment-compatible Tracking API; messages go to <url>/v1/batch). ' +
  'slack: {url} (an incoming-webhook URL).';

export class CreateDestinationDto {
  @ApiProperty({ enum: DESTINATION_TYPES })
  @IsIn(DESTINATION_TYPES, { message: `$property must be one of ${DESTINATION_TYPES.join(', ')}` })
  type!: DestinationType;

  @TextField({ description: 'Name shown in lists', example: 'Welcome email' })
  name!: string;

  @ApiProperty({
    description: CONFIG_DESCRIPTION,
    type: 'object',
    additionalProperties: true,
    example: {
      from: 'Acme <hello@acme.com>',
      subject: 'Welcome, {{ traits.name | default: "friend" }}',
      html: '<p>Hi!</p>',
    },
  })
  @IsObject({ message: '$property must be an object' })
  config!: Record<string, unknown>;

  @RateLimitField()
  rateLimitPerSecond?: number | null;
}

export class UpdateDestinationDto {
  @TextField({ description: 'Name shown in lists', optional: true })
  name?: string;

  @ApiPropertyOptional({
    description: 'Keys to change: given keys replace, null removes, absent keys (secrets too) are kept',
    type: 'object',
    additionalProperties: true,
  })
  @IsOptional()
  @IsObject({ message: '$property must be an object' })
  config?: Record<string, unknown>;

  @RateLimitField()
  rateLimitPerSecond?: number | null;
}

export class AudienceDestinationParamDto extends IdParamDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: '$property must be a UUID' })
  destinationId!: string;
}

export class ConnectDestinationDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: '$property must be a UUID' })
  destinationId!: string;

  @BoolField({ description: 'Also send to everyone already in the audience (once each)', optional: true })
  backfill?: boolean;

  @ApiPropertyOptional({ enum: ['entered', 'exited', 'both'], default: 'entered' })
  @IsOptional()
  @IsIn(['entered', 'exited', 'both'], { message: '$property must be entered, exited or both' })
  send?: SendTransitions;

  @ApiPropertyOptional({
    description:
      'Account audiences and email destinations only: which members of an account receive its email, a profile ' +
      'condition in the audience language (text or JSON AST), e.g. `trait role = "owner"`. Default: every member ' +
      'with an email address. Each transition of the account produces one delivery per recipient',
    oneOf: [{ type: 'string' }, { type: 'object' }],
    example: 'trait role = "owner"',
  })
  @IsOptional()
  @ValidateBy({
    name: 'isMemberCondition',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' || (typeof value === 'object' && value !== null && !Array.isArray(value)),
      defaultMessage: () => '$property must be the text of a member condition or its JSON AST',
    },
  })
  recipients?: unknown;
}

export class DeliveriesQueryDto {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES, { message: `$property must be one of ${DELIVERY_STATUSES.join(', ')}` })
  status?: DeliveryStatus;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString({ message: '$property must be a string' })
  @MaxLength(200, { message: '$property must be at most 200 characters' })
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_DELIVERIES_PAGE, default: DEFAULT_DELIVERIES_PAGE })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: '$property must be an integer' })
  @Min(1, { message: '$property must be at least 1' })
  @Max(MAX_DELIVERIES_PAGE, { message: `$property must be at most ${MAX_DELIVERIES_PAGE}` })
  limit?: number;
}

export class DeliveryCountsView {
  @ApiProperty() queued!: number;
  @ApiProperty() sending!: number;
  @ApiProperty() sent!: number;
  @ApiProperty({ description: 'Failed for now; retried at nextAttemptAt' }) failed!: number;
  @ApiProperty() suppressed!: number;
  @ApiProperty() skipped!: number;
  @ApiProperty({ description: 'Gave up: a permanent failure, or the last attempt failed' }) dead!: number;
}

export class DestinationView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: DESTINATION_TYPES }) type!: DestinationType;
  @ApiProperty() name!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'Secrets are never returned: smtpUrl has its password masked, auth shows hasPassword, webhooks hasSecret, ' +
      'segment hasWriteKey, slack only its host and hasUrl',
  })
  config!: Record<string, unknown>;
  @ApiProperty({ type: Number, nullable: true }) rateLimitPerSecond!: number | null;
  @ApiProperty() createdAt!: Date;
  @ApiProperty() updatedAt!: Date;
  @ApiPropertyOptional({ type: DeliveryCountsView }) counts?: DeliveryCountsView;
}

export class DestinationListView {
  @ApiProperty({ type: [DestinationView] }) items!: DestinationView[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as ?cursor= for the next page' })
  nextCursor!: string | null;
}

export class DeliveryView {
  @ApiProperty({ format: 'uuid', description: 'Also the webhook messageId and part of the email Message-ID' })
  id!: string;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status!: DeliveryStatus;
  @ApiProperty() attempts!: number;
  @ApiProperty({ type: String, nullable: true }) lastError!: string | null;
  @ApiProperty({ type: String, nullable: true }) providerMessageId!: string | null;
  @ApiProperty({ type: Date, nullable: true }) nextAttemptAt!: Date | null;
  @ApiProperty({ type: Date, nullable: true }) sentAt!: Date | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'Null for a journey send' })
  audienceId!: string | null;
  @ApiProperty({ nullable: true, type: String }) audienceKey!: string | null;
  @ApiProperty({ format: 'uuid', description: "The transition's profile (or account), or the journey run's" })
  profileId!: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The member of an account it is for' })
  recipientId!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Transition id (a 64-bit integer, as a string); null for a journey send',
  })
  transitionId!: string | null;
  @ApiProperty({ enum: ['entered', 'exited', 'journey'] }) kind!: 'entered' | 'exited' | 'journey';
  @ApiProperty({ description: 'When the profile entered or left the audience, or the journey step ran' }) at!: Date;
  @ApiProperty({
    nullable: true,
    type: 'object',
    additionalProperties: true,
    description: 'A journey send: {id, key, version, runId, step, seq}',
  })
  journey!: { id: string; key: string; version: number; runId: string; step: string; seq: number } | null;
  @ApiProperty() createdAt!: Date;
  @ApiProperty() updatedAt!: Date;
}

export class DeliveryPageView {
  @ApiProperty({ type: [DeliveryView] }) items!: DeliveryView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class ConnectionView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) audienceId!: string;
  @ApiProperty({ format: 'uuid' }) destinationId!: string;
  @ApiProperty() destinationName!: string;
  @ApiProperty({ enum: DESTINATION_TYPES }) destinationType!: DestinationType;
  @ApiProperty() backfill!: boolean;
  @ApiProperty({ enum: ['entered', 'exited', 'both'] }) send!: SendTransitions;
  @ApiProperty() connectedAt!: Date;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Account audiences: the member condition choosing recipients',
  })
  recipients!: string | null;
  @ApiPropertyOptional({ description: 'Deliveries the backfill queued (on connect only)' }) backfilled?: number;
}

export class ConnectionListView {
  @ApiProperty({ type: [ConnectionView] }) items!: ConnectionView[];
  @ApiProperty({ type: String, nullable: true, description: 'Always null: the list fits one page' })
  nextCursor!: null;
}
