import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsNumber, IsOptional, Max, Min } from 'class-validator';

export class StatusQueryDto {
  @ApiPropertyOptional({ description: 'Failure rate above which a destination counts as failing', example: 0.2 })
  @IsOptional()
  @Type(() => Number)
  @IsNumber({}, { message: '$property must be a number' })
  @Min(0, { message: '$property must be between 0 and 1' })
  @Max(1, { message: '$property must be between 0 and 1' })
  failureRateThreshold?: number;
}
