import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';

import { BoolField } from '../common/dto-fields';
import { IdParamDto } from '../common/id-param.dto';

export class TraitDestinationParamDto extends IdParamDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: '$property must be a UUID' })
  destinationId!: string;
}

export class ConnectTraitDto {
  @ApiProperty({ format: 'uuid', description: 'A segment or webhook destination' })
  @IsUUID('all', { message: '$property must be a UUID' })
  destinationId!: string;

  @BoolField({ description: 'Also send every profile’s current value (once each)', optional: true })
  backfill?: boolean;
}

export class TraitConnectionView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) traitId!: string;
  @ApiProperty({ format: 'uuid' }) destinationId!: string;
  @ApiProperty() destinationName!: string;
  @ApiProperty({ enum: ['segment', 'webhook'] }) destinationType!: string;
  @ApiProperty() backfill!: boolean;
  @ApiProperty() connectedAt!: Date;
  @ApiPropertyOptional({ description: 'Deliveries the backfill queued (on connect only)' }) backfilled?: number;
}

export class TraitConnectionListView {
  @ApiProperty({ type: [TraitConnectionView] }) items!: TraitConnectionView[];
  @ApiProperty({ type: String, nullable: true, description: 'Always null: the list fits one page' })
  nextCursor!: null;
}
