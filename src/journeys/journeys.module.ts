import { Module } from '@nestjs/common';
import { JourneysController } from './journeys.controller';
import { JourneysRepository } from './journeys.repository';
import { JourneysService } from './journeys.service';

/** Journeys over REST; the worker role runs them (JourneysWorkerModule). */
@Module({
  controllers: [JourneysController],
  providers: [JourneysService, JourneysRepository],
})
export class JourneysModule {}
