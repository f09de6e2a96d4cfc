import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength, ValidateBy } from 'class-validator';

/** How many members GET /api/accounts/:groupId lists; memberCount says how many there are. */
export const ACCOUNT_MEMBERS_SHOWN = 100;
/** "Active" in an account's summary: seen within this many days. */
export const ACTIVE_MEMBER_DAYS = 14;

export class GroupIdParamDto {
  @ApiProperty({ description: 'The groupId of `group` calls', example: 'acme-inc' })
  @IsString({ message: '$property must be a string' })
  @MinLength(1, { message: '$property must not be empty' })
  @MaxLength(255, { message: '$property must be at most 255 characters' })
  @ValidateBy({
    name: 'withoutNul',
    validator: {
      // Postgres text cannot hold NUL: such an id names no account, and must not reach a query.
      validate: (value: unknown) => typeof value === 'string' && !value.includes('\u0000'),
      defaultMessage: () => '$property must not contain the NUL character',
    },
  })
  groupId!: string;
}

export class AccountSummaryView {
  @ApiProperty({ example: 'acme-inc' }) groupId!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Merged from its `group` calls' })
  traits!: unknown;
  @ApiProperty({ format: 'date-time', description: 'The timestamp of its first `group` call' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ description: 'Current members (profiles not merged away)' }) memberCount!: number;
}

export class AccountListView {
  @ApiProperty({ type: [AccountSummaryView] }) items!: AccountSummaryView[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as ?cursor= for the next page' })
  nextCursor!: string | null;
}

export class AccountIdentityView {
  @ApiProperty({ example: 'email' }) type!: string;
  @ApiProperty({ example: 'ada@acme.test' }) value!: string;
}

export class AccountMemberView {
  @ApiProperty({ format: 'uuid' }) profileId!: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) traits!: unknown;
  @ApiProperty({ type: [AccountIdentityView] }) identities!: AccountIdentityView[];
  @ApiProperty({ format: 'date-time', description: 'When the member was first seen in the account' })
  joinedAt!: string;
  @ApiProperty({ format: 'date-time' }) lastSeenAt!: string;
}

export class AccountAudienceView {
  @ApiProperty({ format: 'uuid' }) audienceId!: string;
  @ApiProperty() audienceKey!: string;
  @ApiProperty({ format: 'date-time' }) enteredAt!: string;
}

export class AccountView extends AccountSummaryView {
  @ApiProperty({ format: 'uuid', description: 'The id account audiences list as a member id' }) id!: string;
  @ApiProperty({ description: `Members seen within the last ${ACTIVE_MEMBER_DAYS} days` })
  activeMembers14d!: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Values of account-level computed traits by key (`{"active_members_14d": 3}`)',
  })
  computedTraits!: Record<string, unknown>;
  @ApiProperty({ type: [AccountMemberView], description: `The first ${ACCOUNT_MEMBERS_SHOWN} members by joining` })
  members!: AccountMemberView[];
  @ApiProperty({ type: [AccountAudienceView], description: 'Account audiences it is a current member of' })
  audiences!: AccountAudienceView[];
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Its adoption scores by key: `{"adoption_score": {"value": 70, "band": "green"}}`',
  })
  scores!: Record<string, { value: number; band: string }>;
}
