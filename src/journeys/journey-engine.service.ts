import { randomUUID } from 'node:crypto';

import { Injectable, Logger } from '@nestjs/common';

import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { DeliveryQueuesService, type DeliveryRef } from '../queues/delivery-queues.service';
import { eventNamesOf } from './journey-conditions';
import { durationMs, JourneyDefinition, levelOf } from './journey-definition';
import { JourneyRunnerService } from './journey-runner.service';
import { AdmittingJourney, EntryCandidate, JourneyRunsRepository, NewRun, RunTx } from './journey-runs.repository';

/** Scans of the transition ledger look back this far behind the last scan (commits land out of order). */
const ENTRY_LOOKBACK_MS = 10 * 60_000;

export interface SweepOutcome {
  admitted: number;
  runs: number;
  steps: number;
  sends: number;
}

/**
 * Where runs come from and when they move: entries from the audience transitions ledger, goals and
 * wait conditions when a profile changes (a batch participant calls `onProfilesChanged`), timers
 * from Postgres (`sweep`, a maintenance job scheduler). Every path locks the runs it moves and hands
 * them to the runner in one transaction; deliveries are queued after the commit (the delivery
 * sweeper re-queues any that a crash kept from Redis).
 */
@Injectable()
export class JourneyEngineService {
  private readonly logger = new Logger(JourneyEngineService.name);

  constructor(
    private readonly runs: JourneyRunsRepository,
    private readonly runner: JourneyRunnerService,
    private readonly deliveries: DeliveryQueuesService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  /**
   * Real time: entries, audience exits, goals and wait conditions of the batch's profiles, and of
   * the accounts they are members of (whose account audiences the same batch evaluated).
   */
  async onProfilesChanged(workspaceId: string, profileIds: readonly string[]): Promise<Record<string, number>> {
    const journeys = await this.runs.admittingJourneys(workspaceId);
    if (journeys.length === 0 || profileIds.length === 0) return {};
    const now = this.clock.now();
    const outcome = await this.runs.transaction(async (tx) => {
      const accounts = journeys.some((j) => levelOf(j.definition as JourneyDefinition) === 'account')
        ? await this.runs.accountsOf(tx, workspaceId, profileIds)
        : [];
      let admitted = 0;
      for (const journey of journeys) {
        if (!journey.audienceId) continue;
        const subjects = levelOf(journey.definition as JourneyDefinition) === 'account' ? accounts : profileIds;
        if (subjects.length === 0) continue;
        const candidates = await this.runs.entryCandidates(
          tx,
          journey.id,
          journey.audienceId,
          journey.activatedAt,
          subjects,
        );
        admitted += await this.admit(tx, journey, candidates, now);
        await this.exitLeavers(tx, journey, journey.activatedAt, now, subjects);
      }
      const active = await this.runs.lockActiveOfProfiles(tx, workspaceId, [...profileIds, ...accounts]);
      const pass = await this.runner.pass(tx, active, now);
      return { admitted, runs: pass.runs, steps: pass.steps, deliveries: pass.deliveries };
    });
    await this.enqueue(outcome.deliveries);
    return { admitted: outcome.admitted, runs: outcome.runs, steps: outcome.steps, sends: outcome.deliveries.length };
  }

  /**
   * The timers: entries that full computations wrote to the ledger, then due runs a batch at a
   * time until none is due or `budgetMs` is spent.
   */
  async sweep(budgetMs = 4_000, batch = this.config.JOURNEY_BATCH_SIZE): Promise<SweepOutcome> {
    const started = Date.now();
    const outcome: SweepOutcome = { admitted: 0, runs: 0, steps: 0, sends: 0 };
    outcome.admitted = await this.scanLedger();
    // Passes side by side: SKIP LOCKED gives each its own runs, and Postgres works on them on
    // several cores while Node decides the next pass.
    const drain = async () => {
      for (;;) {
        const now = this.clock.now();
        const pass = await this.runs.transaction(async (tx) =>
          this.runner.pass(tx, await this.runs.claimDue(tx, now, batch), now),
        );
        await this.enqueue(pass.deliveries);
        outcome.runs += pass.runs;
        outcome.steps += pass.steps;
        outcome.sends += pass.deliveries.length;
        if (pass.runs < batch || Date.now() - started > budgetMs) return;
      }
    };
    await Promise.all(Array.from({ length: this.config.JOURNEY_SWEEP_CONCURRENCY }, drain));
    return outcome;
  }

  private async scanLedger(): Promise<number> {
    let admitted = 0;
    for (const journey of await this.runs.admittingJourneys(null)) {
      if (!journey.audienceId) continue;
      const now = this.clock.now();
      const scanned = journey.entriesScannedUntil ?? journey.activatedAt;
      const since = new Date(Math.max(journey.activatedAt.getTime(), scanned.getTime() - ENTRY_LOOKBACK_MS));
      admitted += await this.runs.transaction(async (tx) => {
        const candidates = await this.runs.entryCandidates(tx, journey.id, journey.audienceId as string, since);
        const count = await this.admit(tx, journey, candidates, now);
        await this.exitLeavers(tx, journey, since, now);
        await this.runs.markScanned(tx, journey.id, now);
        return count;
      });
    }
    return admitted;
  }

  /**
   * New runs for entries the re-entry rule allows; due at once, so the caller's pass or the sweep
   * starts them. A run starts when it is admitted: an entry held while the journey was paused
   * starts on activation (its waits count from then), with the event that made it enter.
   */
  private async admit(tx: RunTx, journey: AdmittingJourney, candidates: EntryCandidate[], now: Date): Promise<number> {
    if (candidates.length === 0) return 0;
    const definition = journey.definition as JourneyDefinition;
    const first = definition.steps[0];
    if (!first) return 0;
    const previous = new Map(
      (await this.runs.previousRuns(tx, journey.id, [...new Set(candidates.map((c) => c.profileId))])).map((p) => [
        p.profileId,
        p,
      ]),
    );
    const runs: NewRun[] = [];
    const taken = new Set<string>();
    for (const candidate of candidates) {
      if (taken.has(candidate.profileId)) continue;
      const before = previous.get(candidate.profileId);
      if (before && !this.mayReenter(definition, before, candidate.at)) continue;
      taken.add(candidate.profileId);
      runs.push({
        id: randomUUID(),
        workspaceId: journey.workspaceId,
        journeyId: journey.id,
        version: journey.version,
        profileId: candidate.profileId,
        entryTransitionId: candidate.transitionId,
        stepId: first.id,
        now: new Date(Math.max(candidate.at.getTime(), now.getTime())),
      });
    }
    const inserted = await this.runs.insertRuns(tx, runs);
    await this.runs.stampEntryEvents(tx, inserted, eventNamesOf(journey.audienceDefinition), levelOf(definition));
    return inserted.length;
  }

  private mayReenter(
    definition: JourneyDefinition,
    before: { active: boolean; lastStartedAt: Date },
    at: Date,
  ): boolean {
    if (before.active) return false;
    const rule = definition.reentry;
    if (rule === 'never') return false;
    if (rule === 'after_exit') return true;
    return at.getTime() - before.lastStartedAt.getTime() >= durationMs(rule.after);
  }

  private async exitLeavers(
    tx: RunTx,
    journey: AdmittingJourney,
    since: Date,
    now: Date,
    profileIds?: readonly string[],
  ): Promise<void> {
    const definition = journey.definition as JourneyDefinition;
    if (!definition.exit.onAudienceExit || !journey.audienceId) return;
    const leaving = await this.runs.runsLeavingAudience(tx, journey.id, journey.audienceId, since, profileIds);
    if (leaving.length > 0) await this.runner.endRuns(tx, leaving, 'exited', 'audience exit', now);
  }

  private async enqueue(deliveries: DeliveryRef[]): Promise<void> {
    if (deliveries.length === 0) return;
    try {
      await this.deliveries.enqueue(deliveries);
    } catch (error) {
      // Committed already: the delivery sweeper finds them in Postgres and queues them.
      this.logger.warn(
        `journey sends left for the delivery sweeper: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
