import { Injectable, OnModuleInit } from '@nestjs/common';

import { AppConfig } from '../config/app-config';
import { MaintenanceTasks } from '../queues/maintenance-tasks.service';
import { EvaluationTrigger } from './evaluation-trigger.service';
import { ProfileChangesRepository } from './profile-changes.repository';

/**
 * The safety net of real-time evaluation. Ingestion nudges a workspace's evaluate job right after
 * its commit, and a batch queues its workspace again while work remains; this sweep, a job
 * scheduler on the maintenance queue (EVALUATION_SWEEP_INTERVAL_MS), queues every workspace that
 * still has claimable changes — after Redis lost its jobs, a nudge failed, or a worker died and
 * its lease ran out. A workspace that already has a job gets no second one (deduplication).
 */
@Injectable()
export class OutboxRelayService implements OnModuleInit {
  constructor(
    private readonly changes: ProfileChangesRepository,
    private readonly trigger: EvaluationTrigger,
    private readonly maintenance: MaintenanceTasks,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.maintenance.register({
      name: 'relay-profile-changes',
      everyMs: this.config.EVALUATION_SWEEP_INTERVAL_MS,
      run: () => this.relayOnce(),
    });
  }

  /** Queues every workspace with claimable changes; answers how many. */
  async relayOnce(): Promise<{ workspaces: number }> {
    const workspaceIds = await this.changes.workspacesWithClaimableChanges();
    await this.trigger.enqueue(workspaceIds);
    return { workspaces: workspaceIds.length };
  }
}
