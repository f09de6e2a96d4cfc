import { Module } from '@nestjs/common';

import { ScoresController } from './scores.controller';
import { ScoresRepository } from './scores.repository';
import { ScoresService } from './scores.service';

/** Adoption scores over REST; the worker computes them from the `compute-scores` queue. */
@Module({
  controllers: [ScoresController],
  providers: [ScoresService, ScoresRepository],
})
export class ScoresModule {}
