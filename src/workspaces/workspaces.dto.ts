import { ApiProperty } from '@nestjs/swagger';
import { TextField } from '../common/dto-fields';

export class CreateWorkspaceDto {
  @TextField({ description: 'A name for people to recognise the workspace by', example: 'Acme' })
  name!: string;

  @TextField({ description: 'Name of the first source (default "Default")', example: 'Web app', optional: true })
  sourceName?: string;
}

export class CreateSourceDto {
  @TextField({ description: 'Name of the source, e.g. the app it collects from', example: 'iOS app' })
  name!: string;
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
