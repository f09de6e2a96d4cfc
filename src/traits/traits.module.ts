import { Module } from '@nestjs/common';

import { TraitsController } from './traits.controller';
import { TraitsRepository } from './traits.repository';
import { TraitsService } from './traits.service';

/** Computed trait definitions over REST; the worker computes them from the `compute-traits` queue. */
@Module({
  controllers: [TraitsController],
  providers: [TraitsService, TraitsRepository],
})
export class TraitsModule {}
