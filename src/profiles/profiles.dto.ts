import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

export const MAX_EVENTS_PAGE = 1_000;
export const DEFAULT_EVENTS_PAGE = 100;

/** `type:value`, e.g. `email:a@b.com`, `user_id:42`, `anonymous_id:…`, or a configured extra type. */
export const IDENTIFIER_PATTERN = /^([a-z][a-z0-9_]{0,39}):(.+)$/s;

function QueryIntField(options: { description: string; min: number; max: number }) {
  return applyDecorators(
    ApiPropertyOptional({ description: options.description, type: Number, minimum: options.min, maximum: options.max }),
    IsOptional(),
    Type(() => Number),
    IsInt({ message: '$property must be an integer' }),
    Min(options.min, { message: `$property must be at least ${options.min}` }),
    Max(options.max, { message: `$property must be at most ${options.max}` }),
  );
}

export class ProfileLookupQueryDto {
  @ApiProperty({ description: 'type:value of an identity', example: 'email:peter@example.com' })
  @IsString({ message: '$property must be a string' })
  @MaxLength(300, { message: '$property must be at most 300 characters' })
  @Matches(IDENTIFIER_PATTERN, { message: '$property must look like type:value, e.g. email:a@b.com' })
  identifier!: string;
}

export class ProfileEventsQueryDto {
  @QueryIntField({ description: `Page size (default ${DEFAULT_EVENTS_PAGE})`, min: 1, max: MAX_EVENTS_PAGE })
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString({ message: '$property must be a string' })
  @MaxLength(200, { message: '$property must be at most 200 characters' })
  cursor?: string;
}

export class IdentityView {
  @ApiProperty({ example: 'email' }) type!: string;
  @ApiProperty({ example: 'peter@example.com' }) value!: string;
  @ApiProperty() createdAt!: Date;
}

export class MergeView {
  @ApiProperty({ format: 'uuid' }) fromProfileId!: string;
  @ApiProperty({ format: 'uuid' }) intoProfileId!: string;
  @ApiProperty({
    description: 'Identifiers of the message that caused the merge',
    type: 'array',
    items: { type: 'object' },
  })
  identifiers!: unknown;
  @ApiProperty() at!: Date;
}

export class MembershipView {
  @ApiProperty({ format: 'uuid' }) audienceId!: string;
  @ApiProperty() audienceKey!: string;
  @ApiProperty() enteredAt!: Date;
}

export class GroupView {
  @ApiProperty() groupId!: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) traits!: unknown;
  @ApiProperty() joinedAt!: Date;
}

export class ProfileView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Set when the requested id was merged into this profile: the id that was asked for',
  })
  resolvedFrom?: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) traits!: unknown;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Computed trait values by key (a trait without a value for this profile is absent)',
  })
  computedTraits!: Record<string, unknown>;
  @ApiProperty() firstSeenAt!: Date;
  @ApiProperty() lastSeenAt!: Date;
  @ApiProperty() createdAt!: Date;
  @ApiProperty({ description: 'How many profiles were merged into this one' }) mergeCount!: number;
  @ApiProperty({ type: [IdentityView] }) identities!: IdentityView[];
  @ApiProperty({ type: [MergeView] }) merges!: MergeView[];
  @ApiProperty({ type: [MembershipView] }) memberships!: MembershipView[];
  @ApiProperty({ type: [GroupView] }) groups!: GroupView[];
}

export class ProfileListView {
  @ApiProperty({ type: [ProfileView] }) items!: ProfileView[];
  @ApiProperty({ type: String, nullable: true, description: 'Always null: an identifier belongs to one profile' })
  nextCursor!: null;
}

export class ProfileEventView {
  @ApiProperty({ description: 'Event id (a 64-bit integer, as a string)' }) id!: string;
  @ApiProperty({ format: 'uuid' }) sourceId!: string;
  @ApiProperty() messageId!: string;
  @ApiProperty({ enum: ['track', 'identify', 'page', 'screen', 'group', 'alias'] }) type!: string;
  @ApiProperty({ nullable: true, type: String }) name!: string | null;
  @ApiProperty({ nullable: true, type: String }) userId!: string | null;
  @ApiProperty({ nullable: true, type: String }) anonymousId!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) properties!: unknown;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true }) traits!: unknown;
  @ApiProperty({ type: 'object', additionalProperties: true }) context!: unknown;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true }) integrations!: unknown;
  @ApiProperty() timestamp!: Date;
  @ApiProperty({ nullable: true, type: Date }) originalTimestamp!: Date | null;
  @ApiProperty({ nullable: true, type: Date }) sentAt!: Date | null;
  @ApiProperty() receivedAt!: Date;
}

export class ProfileEventsView {
  @ApiProperty({ type: [ProfileEventView] }) items!: ProfileEventView[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as ?cursor= for the next (older) page' })
  nextCursor!: string | null;
}

export class ErasureView {
  @ApiProperty({ description: 'Profiles erased: the profile and those merged into it' }) profiles!: number;
  @ApiProperty() identities!: number;
  @ApiProperty() events!: number;
  @ApiProperty({ description: 'Emails added to (or marked erased on) the suppression list' }) suppressedEmails!: number;
}
