import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn } from 'class-validator';

import { IsAbsentOr, TextField } from '../common/dto-fields';
import { SOURCE_VALIDATIONS, SourceValidation } from './workspaces.repository';

/** How a source's tracking calls treat an invalid message; see docs/tracking.md. */
function ValidationField() {
  return applyDecorators(
    ApiPropertyOptional({
      enum: SOURCE_VALIDATIONS,
      description:
        'lenient (default): an invalid message is quarantined and the others are stored; ' +
        'strict: one invalid message refuses the whole request with 400 (its messages are quarantined)',
    }),
    IsAbsentOr(),
    IsIn(SOURCE_VALIDATIONS, { message: `$property must be one of ${SOURCE_VALIDATIONS.join(', ')}` }),
  );
}

export class CreateWorkspaceDto {
  @TextField({ description: 'A name for people to recognise the workspace by', example: 'Acme' })
  name!: string;

  @TextField({ description: 'Name of the first source (default "Default")', example: 'Web app', optional: true })
  sourceName?: string;
}

export class CreateSourceDto {
  @TextField({ description: 'Name of the source, e.g. the app it collects from', example: 'iOS app' })
  name!: string;

  @ValidationField() validation?: SourceValidation;
}

export class UpdateSourceDto {
  @TextField({ description: 'Name of the source', example: 'iOS app', optional: true })
  name?: string;

  @ValidationField() validation?: SourceValidation;
}

export class WorkspaceView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
}

export class SourceView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'Use as the HTTP Basic user name of Segment-compatible tracking calls' })
  writeKey!: string;
  @ApiProperty({ enum: SOURCE_VALIDATIONS }) validation!: SourceValidation;
}

export class SourceListView {
  @ApiProperty({ type: [SourceView] }) items!: SourceView[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as ?cursor= for the next page' })
  nextCursor!: string | null;
}

export class CreatedWorkspaceView {
  @ApiProperty({ type: WorkspaceView }) workspace!: WorkspaceView;
  @ApiProperty({ type: SourceView }) source!: SourceView;
  @ApiProperty({ description: 'Bearer token for the management API. Shown once; only its hash is stored.' })
  apiToken!: string;
}
