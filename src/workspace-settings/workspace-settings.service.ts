import { Injectable, Logger, NotFoundException } from '@nestjs/common';

import { describeProblems, FieldProblem } from '../common/problems';
import { badRequestFor } from '../common/validation';
import { AppConfig } from '../config/app-config';
import { Prisma } from '../generated/prisma/client';
import {
  DEFAULT_WORKSPACE_SETTINGS,
  patchWorkspaceSettings,
  readWorkspaceSettings,
  WorkspaceSettings,
} from './workspace-settings';
import { WorkspaceSettingsRepository } from './workspace-settings.repository';

export interface WorkspaceSettingsView {
  /** Every setting, defaults filled in: what ingestion uses now. */
  settings: WorkspaceSettings;
  /** Stored values that do not fit their schema (their defaults are in use); empty when all is well. */
  problems: FieldProblem[];
}

@Injectable()
export class WorkspaceSettingsService {
  private readonly logger = new Logger(WorkspaceSettingsService.name);
  private readonly defaults: WorkspaceSettings;

  constructor(
    private readonly repository: WorkspaceSettingsRepository,
    config: AppConfig,
  ) {
    // The installation's defaults for what a workspace does not set.
    this.defaults = {
      ...DEFAULT_WORKSPACE_SETTINGS,
      tracking: {
        rateLimitPerSecond: config.TRACKING_RATE_LIMIT_PER_SECOND,
        bytesPerSecond: config.TRACKING_RATE_LIMIT_BYTES_PER_SECOND,
      },
    };
  }

  async get(workspaceId: string): Promise<WorkspaceSettingsView> {
    const row = await this.repository.find(workspaceId);
    if (!row) throw new NotFoundException('workspace not found');
    return this.read(workspaceId, row.settings);
  }

  /** Merges `patch` into the stored settings (null resets to the default); 400 naming each bad field. */
  async update(workspaceId: string, patch: unknown): Promise<WorkspaceSettingsView> {
    const row = await this.repository.modify(workspaceId, (stored) => {
      const patched = patchWorkspaceSettings(stored, patch);
      if (!patched.ok) throw badRequestFor(patched.problems);
      return patched.stored as Prisma.InputJsonObject;
    });
    if (!row) throw new NotFoundException('workspace not found');
    return this.read(workspaceId, row.settings);
  }

  /** The settings ingestion works with; stored values that do not fit are logged and replaced by defaults. */
  async effective(workspaceId: string): Promise<WorkspaceSettings> {
    const row = await this.repository.find(workspaceId);
    return row ? this.read(workspaceId, row.settings).settings : this.defaults;
  }

  private read(workspaceId: string, stored: unknown): WorkspaceSettingsView {
    const { settings, problems } = readWorkspaceSettings(stored, this.defaults);
    if (problems.length > 0) {
      this.logger.warn(
        `workspace ${workspaceId}: stored settings that do not fit use their defaults: ${describeProblems(problems)}`,
      );
    }
    return { settings, problems };
  }
}
