import { Injectable } from '@nestjs/common';

import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { EvaluationBacklogRow, OpsRepository } from './ops.repository';

export interface StaleAudience {
  id: string;
  key: string;
  lastComputedAt: Date | null;
  refreshIntervalSeconds: number;
  secondsSinceComputed: number | null;
}

export interface FailingDestination {
  id: string;
  name: string;
  type: string;
  failureRate: number;
  failed: number;
  attempted: number;
}

export interface WorkspaceStatus {
  status: 'ok' | 'degraded';
  checkedAt: Date;
  problems: string[];
  audiences: { total: number; stale: StaleAudience[]; failed: { id: string; key: string }[] };
  destinations: { failing: FailingDestination[]; failureRateThreshold: number; windowSeconds: number };
  deliveries: { dead: number };
  outbox: { backlog: number; oldestSeconds: number | null };
  /** Real-time evaluation: changes waiting per lane and the age of the oldest (the lag). */
  evaluation: {
    live: LaneBacklog;
    bulk: LaneBacklog;
    /** `degraded` when the live lag is above this (EVALUATION_LAG_DEGRADED_SECONDS). */
    lagThresholdSeconds: number;
  };
}

export interface LaneBacklog {
  backlog: number;
  lagSeconds: number | null;
}

const FAILURE_WINDOW_SECONDS = 3600;
const FAILED_STATUSES = new Set(['failed', 'dead']);
const ATTEMPTED_STATUSES = new Set(['sent', 'failed', 'dead']);

/** What a person or a monitor needs to decide whether a workspace needs attention. */
@Injectable()
export class StatusService {
  constructor(
    private readonly repository: OpsRepository,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  async workspaceStatus(workspaceId: string, failureRateThreshold: number): Promise<WorkspaceStatus> {
    const now = this.clock.now();
    const since = new Date(now.getTime() - FAILURE_WINDOW_SECONDS * 1000);
    const [audiences, recent, all, destinations, outbox] = await Promise.all([
      this.repository.audiences(workspaceId),
      this.repository.deliveryCounts(workspaceId, since),
      this.repository.deliveryCounts(workspaceId),
      this.repository.destinations(workspaceId),
      this.repository.evaluationBacklog(workspaceId),
    ]);

    // Stale: not computed within twice its refresh interval.
    const stale = audiences
      .map((audience) => {
        const age = audience.lastComputedAt ? (now.getTime() - audience.lastComputedAt.getTime()) / 1000 : null;
        return {
          id: audience.id,
          key: audience.key,
          lastComputedAt: audience.lastComputedAt,
          refreshIntervalSeconds: audience.refreshIntervalSeconds,
          secondsSinceComputed: age === null ? null : Math.round(age),
        };
      })
      .filter((a) => a.secondsSinceComputed === null || a.secondsSinceComputed > 2 * a.refreshIntervalSeconds);
    const failedAudiences = audiences.filter((a) => a.status === 'failed').map((a) => ({ id: a.id, key: a.key }));

    const failing = destinations
      .map((destination) => {
        const rows = recent.filter((row) => row.destinationId === destination.id);
        const attempted = rows.filter((r) => ATTEMPTED_STATUSES.has(r.status)).reduce((n, r) => n + r.count, 0);
        const failed = rows.filter((r) => FAILED_STATUSES.has(r.status)).reduce((n, r) => n + r.count, 0);
        return { ...destination, attempted, failed, failureRate: attempted === 0 ? 0 : failed / attempted };
      })
      .filter((d) => d.attempted > 0 && d.failureRate > failureRateThreshold);
    const dead = all.filter((row) => row.status === 'dead').reduce((n, r) => n + r.count, 0);
    const ageOf = (rows: EvaluationBacklogRow[]): number | null => {
      const oldest = Math.min(...rows.map((row) => row.oldestAt.getTime()));
      return rows.length === 0 ? null : Math.max(0, Math.round((now.getTime() - oldest) / 1000));
    };
    const lane = (name: 'live' | 'bulk'): LaneBacklog => {
      const rows = outbox.filter((row) => row.lane === name);
      return { backlog: rows.reduce((n, row) => n + row.count, 0), lagSeconds: ageOf(rows) };
    };
    const live = lane('live');
    const lagThresholdSeconds = this.config.EVALUATION_LAG_DEGRADED_SECONDS;

    const problems = [
      ...stale.map((a) => `audience ${a.key} has not been computed within twice its refresh interval`),
      ...failedAudiences.map((a) => `audience ${a.key} failed to compute`),
      ...failing.map(
        (d) => `destination ${d.name} failed ${Math.round(d.failureRate * 100)}% of deliveries in the last hour`,
      ),
      ...(dead > 0 ? [`${dead} deliveries are dead-lettered`] : []),
      // Only the live lane: an import's backlog is expected to wait behind live traffic.
      ...(live.lagSeconds !== null && live.lagSeconds > lagThresholdSeconds
        ? [`real-time evaluation is ${live.lagSeconds} s behind (more than ${lagThresholdSeconds} s)`]
        : []),
    ];
    return {
      status: problems.length === 0 ? 'ok' : 'degraded',
      checkedAt: now,
      problems,
      audiences: { total: audiences.length, stale, failed: failedAudiences },
      destinations: { failing, failureRateThreshold, windowSeconds: FAILURE_WINDOW_SECONDS },
      deliveries: { dead },
      outbox: { backlog: outbox.reduce((n, row) => n + row.count, 0), oldestSeconds: ageOf(outbox) },
      evaluation: { live, bulk: lane('bulk'), lagThresholdSeconds },
    };
  }
}
