import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import {
  JsonObjectField,
  OptionalTextField,
  RequiredTextField,
  SubjectIdField,
  TimestampField,
} from './tracking-fields';

export const MESSAGE_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const MAX_MESSAGE_ID_LENGTH = 100;
export const MAX_NAME_LENGTH = 255;

/**
 * Fields every Segment message may carry. Unknown fields are allowed and ignored (libraries add
 * `channel`, `version`, `_metadata`, …), so these classes validate but never whitelist.
 */
export class MessageDto {
  @SubjectIdField('anonymousId', { description: 'Your id of the user', example: '97980cfea0067' })
  userId?: string | null;

  @SubjectIdField('userId', {
    description: 'An id of the device or session, before the user is known',
    example: '507f191e810c19729de860ea',
  })
  anonymousId?: string | null;

  @OptionalTextField({
    description: 'Idempotency key: a repeated messageId is stored once. Generated when absent.',
    maxLength: MAX_MESSAGE_ID_LENGTH,
    example: '022bb90c-bbac-11e4-8dfc-aa07a5b093db',
  })
  messageId?: string;

  @TimestampField({ description: 'When the event happened; kept as given (no skew correction)' })
  timestamp?: string;

  @TimestampField({ description: 'Device time of the event; corrected for skew with sentAt when timestamp is absent' })
  originalTimestamp?: string;

  @TimestampField({ description: 'Device time when the message was sent' })
  sentAt?: string;

  @JsonObjectField({ description: 'ip, userAgent, page, campaign, library, traits…' })
  context?: Record<string, unknown>;

  @JsonObjectField({ description: 'Destination switches, kept as given' })
  integrations?: Record<string, unknown>;
}

export class TrackMessageDto extends MessageDto {
  @RequiredTextField({ description: 'Name of the action', example: 'Order Completed', maxLength: MAX_NAME_LENGTH })
  event!: string;

  @JsonObjectField({ description: 'Properties of the action', example: { revenue: 39.95 } })
  properties?: Record<string, unknown>;
}

export class IdentifyMessageDto extends MessageDto {
  @JsonObjectField({ description: 'Traits merged into the profile', example: { email: 'peter@example.com' } })
  traits?: Record<string, unknown>;
}

export class PageMessageDto extends MessageDto {
  @OptionalTextField({ description: 'Name of the page', example: 'Pricing', maxLength: MAX_NAME_LENGTH })
  name?: string;

  @OptionalTextField({ description: 'Category of the page', maxLength: MAX_NAME_LENGTH })
  category?: string;

  @JsonObjectField({ description: 'url, path, referrer, title…' })
  properties?: Record<string, unknown>;
}

export class ScreenMessageDto extends PageMessageDto {}

export class GroupMessageDto extends MessageDto {
  @RequiredTextField({
    description: 'Id of the account or company',
    example: '0e8c78ea9d97',
    maxLength: MAX_NAME_LENGTH,
  })
  groupId!: string;

  @JsonObjectField({ description: 'Traits of the group', example: { name: 'Initech', plan: 'enterprise' } })
  traits?: Record<string, unknown>;
}

export class AliasMessageDto extends MessageDto {
  @RequiredTextField({
    description: 'The id the user was known by before',
    example: '39239-239239-239239-23923',
    maxLength: 255,
  })
  previousId!: string;
}

export const MESSAGE_DTOS: Record<MessageType, new () => MessageDto> = {
  track: TrackMessageDto,
  identify: IdentifyMessageDto,
  page: PageMessageDto,
  screen: ScreenMessageDto,
  group: GroupMessageDto,
  alias: AliasMessageDto,
};

/** Documents `/v1/batch`; the body is validated message by message (see tracking-messages.ts). */
export class BatchDto {
  @ApiProperty({ description: 'Up to 2,500 messages, each with a `type`', type: 'array', items: { type: 'object' } })
  batch!: Record<string, unknown>[];

  @ApiPropertyOptional({
    description: 'Merged under every message context',
    type: 'object',
    additionalProperties: true,
  })
  context?: Record<string, unknown>;

  @ApiPropertyOptional({
    description: 'Default integrations of every message',
    type: 'object',
    additionalProperties: true,
  })
  integrations?: Record<string, unknown>;

  @ApiPropertyOptional({ format: 'date-time', description: 'When the batch was sent (device time)' })
  sentAt?: string;

  @ApiPropertyOptional({ description: 'Alternative to HTTP Basic authentication' })
  writeKey?: string;
}

export class FieldProblemView {
  @ApiProperty({ example: 'batch[3].event' }) field!: string;
  @ApiProperty({ example: 'is required' }) reason!: string;
}

export class RejectedMessageView {
  @ApiProperty({ description: 'Position of the message in the request (0 for a single call)' }) index!: number;
  @ApiProperty({ type: [FieldProblemView] }) errors!: FieldProblemView[];
}

export class WarnedMessageView {
  @ApiProperty({ description: 'Position of the message in the request (0 for a single call)' }) index!: number;
  @ApiProperty({ type: [FieldProblemView] }) warnings!: FieldProblemView[];
}

export class TrackingResponse {
  @ApiProperty({ example: true }) success!: boolean;

  @ApiPropertyOptional({
    type: [RejectedMessageView],
    description: 'Messages not stored but quarantined (GET /api/quarantine); present only when there are some',
  })
  rejected?: RejectedMessageView[];

  @ApiPropertyOptional({
    type: [WarnedMessageView],
    description:
      'Messages stored with a change (replaced characters, a future timestamp), also quarantined as warnings',
  })
  warnings?: WarnedMessageView[];
}
