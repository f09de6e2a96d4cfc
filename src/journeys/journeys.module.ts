import { Module } from '@nestjs/common';

import { JourneyReportRepository } from './journey-report.repository';
import { JourneyReportService } from './journey-report.service';
import { JourneysController } from './journeys.controller';
import { JourneysRepository } from './journeys.repository';
import { JourneysService } from './journeys.service';

/** Journeys over REST; the worker role runs them (JourneysWorkerModule). */
@Module({
  controllers: [JourneysController],
  providers: [JourneysService, JourneysRepository, JourneyReportService, JourneyReportRepository],
})
export class JourneysModule {}
