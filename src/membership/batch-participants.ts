import { Injectable } from '@nestjs/common';

/** A batch of changed profiles of one workspace, as every participant sees it. */
export interface ChangedProfiles {
  workspaceId: string;
  /** Distinct profile ids; merged-away and erased profiles included (they must leave what they were in). */
  profileIds: readonly string[];
  /** The batch's instant (from the injected clock). */
  now: Date;
}

/**
 * When a participant runs within a batch: lower first. State that other participants read comes
 * before them — computed traits and scores before the audiences whose conditions use them, and
 * reactions to memberships (journey wait conditions) after the audiences.
 */
export enum BatchStage {
  ComputedState = 100,
  Audiences = 200,
  Reactions = 300,
}

/**
 * Per-profile state kept current by events plugs into real-time evaluation by implementing this
 * and registering itself (in onModuleInit) with BatchParticipants: it then gets every batch, in
 * stage order, with no queue of its own. `evaluate` must be idempotent — a batch whose worker died
 * is evaluated again — and should work set-based over the batch's profiles.
 */
export interface BatchParticipant {
  /** Names the participant in logs and in the job's return value. */
  readonly name: string;
  readonly stage: BatchStage;
  /** Returns counts worth reporting (e.g. entered, exited). */
  evaluate(batch: ChangedProfiles): Promise<Record<string, number>>;
}

/** The registry of batch participants; audiences are the first. */
@Injectable()
export class BatchParticipants {
  private readonly participants: BatchParticipant[] = [];

  register(participant: BatchParticipant): void {
    if (this.participants.some((p) => p.name === participant.name)) {
      throw new Error(`batch participant ${participant.name} is registered twice`);
    }
    this.participants.push(participant);
  }

  /** By stage, then by name: the same order in every worker. */
  ordered(): BatchParticipant[] {
    return [...this.participants].sort((a, b) => a.stage - b.stage || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
