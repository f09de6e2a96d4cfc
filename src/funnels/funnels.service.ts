import { Injectable } from '@nestjs/common';

import { AudienceView } from '../audiences/audiences.dto';
import { AudiencesService } from '../audiences/audiences.service';
import { Clock } from '../common/clock';
import { dropOffDefinition } from './funnel-drop-off';
import { buildFunnelReport } from './funnel-report';
import { readBreakdown, readPeriod, readSteps } from './funnel-request';
import { FUNNEL_LIMITS, FunnelQuery, previousPeriod } from './funnel-spec';
import { FunnelAudienceDto, FunnelReportDto, FunnelReportView } from './funnels.dto';
import { FunnelsRepository } from './funnels.repository';

@Injectable()
export class FunnelsService {
  constructor(
    private readonly repository: FunnelsRepository,
    private readonly audiences: AudiencesService,
    private readonly clock: Clock,
  ) {}

  async report(workspaceId: string, input: FunnelReportDto): Promise<FunnelReportView> {
    const windowDays = input.windowDays ?? FUNNEL_LIMITS.defaultWindowDays;
    const query: FunnelQuery = {
      workspaceId,
      steps: readSteps(input.steps),
      ...readPeriod(input.from, input.to),
      windowSeconds: windowDays * 86_400,
      mode: input.mode ?? 'sequential',
      now: this.clock.now(),
    };
    if (input.breakdown) query.breakdown = readBreakdown(input.breakdown);
    const before = input.comparePrevious === false ? undefined : previousPeriod(query);
    // The two periods are independent statements; Postgres runs them side by side.
    const [current, previous] = await Promise.all([
      this.repository.report(query, query),
      before ? this.repository.report({ ...query, breakdown: undefined }, before) : undefined,
    ]);
    return buildFunnelReport({
      query,
      windowDays,
      current,
      previous: before && previous ? { period: before, rows: previous } : undefined,
    });
  }

  /** Saves "reached step k but not step k+1 within the window" as an audience people can read and edit. */
  async createDropOffAudience(workspaceId: string, input: FunnelAudienceDto): Promise<AudienceView> {
    const windowDays = input.windowDays ?? FUNNEL_LIMITS.defaultWindowDays;
    const definition = dropOffDefinition(readSteps(input.steps), windowDays, input.dropOffAfterStep);
    return this.audiences.create(workspaceId, {
      key: input.key,
      name: input.name,
      definition,
      includeHistoricalData: input.includeHistoricalData,
      refreshIntervalSeconds: input.refreshIntervalSeconds,
    });
  }
}
