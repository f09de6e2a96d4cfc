import { Injectable, OnModuleInit } from '@nestjs/common';

import { AppConfig } from '../config/app-config';
import { MaintenanceTasks } from '../queues/maintenance-tasks.service';
import { EvaluationTrigger } from './evaluation-trigger.service';
import { ProfileChangesRepository } from './profile-changes.repository';

/**
 * The outbox is vacuumed by the relay's worker once this many dead rows pile up (checked every
 * OUTBOX_VACUUM_CHECK_MS), whether or not autovacuum runs: every change is inserted, claimed and
 * deleted, and without a vacuum its dead versions stay in the table and its indexes, where every
 * claim and delete walks over them. In bench:realtime, with autovacuum off, a claim went from 2 to
 * 44 ms and a batch's delete from 1 to 41 ms within two minutes of ingest at 5,000 events/s, and
 * evaluation fell behind. With autovacuum on, the migration's per-table settings keep it below this.
 */
export const OUTBOX_VACUUM_DEAD_ROWS = 20_000;
export const OUTBOX_VACUUM_CHECK_MS = 5_000;

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
    this.maintenance.register({
      name: 'vacuum-profile-changes',
      everyMs: OUTBOX_VACUUM_CHECK_MS,
      run: () => this.vacuumOnce(),
    });
  }

  /** Vacuums the outbox when OUTBOX_VACUUM_DEAD_ROWS dead rows or more wait; answers what it found. */
  async vacuumOnce(): Promise<{ deadRows: number; vacuumed: boolean }> {
    const deadRows = await this.changes.deadRows();
    if (deadRows < OUTBOX_VACUUM_DEAD_ROWS) return { deadRows, vacuumed: false };
    await this.changes.vacuum();
    return { deadRows, vacuumed: true };
  }

  /** Queues every workspace with claimable changes; answers how many. */
  async relayOnce(): Promise<{ workspaces: number }> {
    const workspaceIds = await this.changes.workspacesWithClaimableChanges();
    await this.trigger.enqueue(workspaceIds);
    return { workspaces: workspaceIds.length };
  }
}
