import { Module } from '@nestjs/common';

import { AudiencesController } from './audiences.controller';
import { AudiencesRepository } from './audiences.repository';
import { AudiencesService } from './audiences.service';
import { DefinitionReader } from './definition-reader';

/** Audience definitions over REST; the membership engine computes them from the `compute` queue. */
@Module({
  controllers: [AudiencesController],
  providers: [AudiencesService, AudiencesRepository, DefinitionReader],
  exports: [AudiencesService],
})
export class AudiencesModule {}
