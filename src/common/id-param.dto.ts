import { ApiProperty } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';

/** Route parameters of the form `/:id` where the id is a UUID (a malformed one is a 400, not a 404). */
export class IdParamDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: '$property must be a UUID' })
  id!: string;
}
