import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';

import { advisoryLocksSql, FREQUENCY_CAP_LOCK_CLASS, frequencyCapLockKey } from '../database/audience-lock';
import type { DeliveryRef } from '../queues/delivery-queues.service';
import { WorkspaceSettingsService } from '../workspace-settings/workspace-settings.service';
import { conditionPredicate, recipientsPredicate } from './journey-conditions';
import { durationMs, JourneyDefinition, JourneyStep, levelOf } from './journey-definition';
import { assignVariant, HOLDOUT, quietUntil } from './journey-guardrails';
import {
  HistoryRow,
  JourneyRunsRepository,
  JourneySend,
  RunRow,
  RunStatus,
  RunTx,
  RunUpdate,
} from './journey-runs.repository';
import type { MessagingSettings } from './messaging-settings';

/** Immediate steps (send, branch, split) one pass takes per run before it stops and lets the timer continue. */
const MAX_HOPS = 50;

interface RunState extends RunRow {
  definition: JourneyDefinition;
  status: RunStatus;
  endedAt: Date | null;
  endReason: string | null;
  /** Stops for this pass: waiting on a timer, a condition or the end. */
  parked: boolean;
  changed: boolean;
}

export interface PassOutcome {
  runs: number;
  steps: number;
  deliveries: DeliveryRef[];
}

/**
 * Moves runs through their journey's graph. A pass works on runs its caller locked in one
 * transaction and writes everything it decided — run rows, one history row per step taken, the
 * deliveries of send steps (unique per run and step) — in that same transaction: a crash before the
 * commit leaves every run where it was (the step happens again, once), a crash after leaves it
 * done (it is not repeated). Conditions are evaluated set-based per condition over the pass's runs.
 */
@Injectable()
export class JourneyRunnerService {
  private readonly definitions = new LRUCache<string, JourneyDefinition>({ max: 2_000 });

  constructor(
    private readonly runs: JourneyRunsRepository,
    private readonly settings: WorkspaceSettingsService,
  ) {}

  async definitionOf(journeyId: string, version: number): Promise<JourneyDefinition> {
    const key = `${journeyId}/${version}`;
    const cached = this.definitions.get(key);
    if (cached) return cached;
    const definition = (await this.runs.definitionOf(journeyId, version)) as JourneyDefinition | null;
    if (!definition) throw new Error(`journey ${journeyId} has no version ${version}`);
    this.definitions.set(key, definition);
    return definition;
  }

  async pass(tx: RunTx, rows: RunRow[], now: Date): Promise<PassOutcome> {
    if (rows.length === 0) return { runs: 0, steps: 0, deliveries: [] };
    const states: RunState[] = [];
    for (const row of rows) {
      states.push({
        ...row,
        definition: await this.definitionOf(row.journeyId, row.version),
        status: 'active',
        endedAt: null,
        endReason: null,
        parked: false,
        changed: false,
      });
    }
    const history: HistoryRow[] = [];
    const sends: JourneySend[] = [];
    const step = (state: RunState): JourneyStep =>
      state.definition.steps.find((s) => s.id === state.stepId) ?? { id: state.stepId, type: 'exit' };

    const end = (state: RunState, status: RunStatus, reason: string) => {
      history.push(this.historyRow(state, step(state).type, reason, now));
      state.status = status;
      state.stepSeq += 1;
      state.endedAt = now;
      state.endReason = reason;
      state.dueAt = null;
      state.parked = true;
      state.changed = true;
    };
    const move = (
      state: RunState,
      outcome: string,
      next: string | null,
      detail: Record<string, unknown> | null = null,
    ) => {
      history.push({ ...this.historyRow(state, step(state).type, outcome, now), detail });
      state.stepSeq += 1;
      state.changed = true;
      if (next === null) {
        state.status = 'completed';
        state.endedAt = now;
        state.endReason = 'completed';
        state.dueAt = null;
        state.parked = true;
        return;
      }
      state.stepId = next;
      state.stepEnteredAt = now;
      state.dueAt = now;
    };
    const park = (state: RunState, dueAt: Date | null) => {
      if (state.dueAt?.getTime() !== dueAt?.getTime()) state.changed = true;
      state.dueAt = dueAt;
      state.parked = true;
    };

    // The goal first, wherever the run is: a person who reached it gets nothing more.
    const goals = await this.holding(
      tx,
      states.filter((s) => s.definition.exit.when !== null),
      (s) => s.definition.exit.when as string,
      now,
    );
    for (const state of states) if (goals.has(state)) end(state, 'converted', 'converted');

    let steps = 0;
    let messaging: Map<string, MessagingSettings> | undefined;
    // Sends of this pass, per person: the cap counts them before they are written.
    const sentNow = new Map<string, Date[]>();
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const moving = states.filter((s) => !s.parked);
      if (moving.length === 0) break;
      const conditions = await this.holding(
        tx,
        moving.filter((s) => ['wait_until', 'branch'].includes(step(s).type)),
        (s) => (step(s) as { condition: string }).condition,
        now,
      );
      const sending = moving.filter((s) => step(s).type === 'send');
      if (sending.length > 0 && !messaging) {
        // Settings of every workspace of the pass: a later hop may send in another one.
        messaging = await this.messagingOf(states);
        await this.lockCappedPeople(tx, states, messaging);
      }
      const guard = sending.length > 0 ? await this.guardrails(tx, sending, now, messaging!, sentNow) : undefined;
      for (const state of moving) {
        const current = step(state);
        steps += 1;
        switch (current.type) {
          case 'wait': {
            const due = new Date(state.stepEnteredAt.getTime() + durationMs(current.duration));
            if (due <= now) move(state, 'passed', current.next);
            else park(state, due);
            break;
          }
          case 'wait_until': {
            const timeout = new Date(state.stepEnteredAt.getTime() + durationMs(current.timeout));
            if (conditions.has(state)) move(state, 'met', current.next);
            else if (timeout <= now) move(state, 'timeout', current.timeoutNext);
            else park(state, timeout);
            break;
          }
          case 'branch':
            if (conditions.has(state)) move(state, 'then', current.then);
            else move(state, 'else', current.else);
            break;
          case 'split': {
            const variant = state.variant ?? assignVariant(current, state.journeyId, state.profileId);
            if (variant === HOLDOUT) {
              if (state.variant !== HOLDOUT) {
                state.variant = HOLDOUT;
                state.changed = true;
              }
              // The holdout gets nothing: it stays here, without a timer, until its goal or its exit.
              park(state, null);
              break;
            }
            state.variant = variant;
            const chosen = current.variants.find((v) => v.key === variant);
            move(state, `variant:${variant}`, chosen ? chosen.next : null, { variant });
            break;
          }
          case 'send': {
            const decision = guard?.decide(state, now);
            if (decision?.kind === 'wait' && state.dueAt?.getTime() === decision.until.getTime()) {
              // Held already, until the same moment (a profile change brought the run here again).
              park(state, decision.until);
              break;
            }
            if (decision?.kind === 'wait') {
              // Held (quiet hours, or the cap in `wait` mode): recorded, and the timer comes back then.
              history.push({
                ...this.historyRow(state, 'send', `held:${decision.reason}`, now),
                detail: { until: decision.until.toISOString() },
              });
              state.stepSeq += 1;
              state.changed = true;
              park(state, decision.until);
              break;
            }
            if (decision?.kind === 'skip') {
              move(state, 'capped', current.next, { reason: decision.reason });
              break;
            }
            sends.push({
              runId: state.id,
              seq: state.stepSeq,
              workspaceId: state.workspaceId,
              destinationId: current.destination,
              subjectId: state.profileId,
              ...(levelOf(state.definition) === 'account' && {
                recipients: recipientsPredicate(
                  state.workspaceId,
                  current.recipients ?? state.definition.recipients ?? null,
                  now,
                ),
              }),
            });
            move(state, 'sent', current.next, { destination: current.destination });
            break;
          }
          case 'exit':
            end(state, 'completed', 'exit');
            break;
        }
      }
    }
    // Runs still moving after MAX_HOPS: due now, the next sweep takes them on.
    for (const state of states) if (!state.parked) park(state, now);

    const changed = states.filter((s) => s.changed);
    await this.runs.writeUpdates(
      tx,
      changed.map((s) => this.updateOf(s)),
    );
    await this.runs.writeHistory(tx, history);
    const deliveries = await this.runs.insertSends(tx, sends);
    return { runs: states.length, steps, deliveries };
  }

  /** Ends runs (audience exit) with a history row, in the caller's transaction. */
  async endRuns(tx: RunTx, rows: RunRow[], status: RunStatus, reason: string, now: Date): Promise<void> {
    const history: HistoryRow[] = [];
    const updates: RunUpdate[] = [];
    for (const row of rows) {
      const definition = await this.definitionOf(row.journeyId, row.version);
      const kind = definition.steps.find((s) => s.id === row.stepId)?.type ?? 'exit';
      history.push(this.historyRow(row, kind, reason, now));
      updates.push({
        ...row,
        status,
        stepSeq: row.stepSeq + 1,
        dueAt: null,
        endedAt: now,
        endReason: reason,
      });
    }
    await this.runs.writeUpdates(tx, updates);
    await this.runs.writeHistory(tx, history);
  }

  private historyRow(state: RunRow, kind: string, outcome: string, now: Date): HistoryRow {
    return {
      runId: state.id,
      seq: state.stepSeq,
      stepId: state.stepId,
      kind,
      enteredAt: state.stepEnteredAt,
      leftAt: now,
      outcome,
      detail: null,
    };
  }

  private updateOf(state: RunState): RunUpdate {
    return {
      id: state.id,
      status: state.status,
      stepId: state.stepId,
      stepSeq: state.stepSeq,
      stepEnteredAt: state.stepEnteredAt,
      dueAt: state.dueAt,
      variant: state.variant,
      endedAt: state.endedAt,
      endReason: state.endReason,
    };
  }

  /** The runs for which their condition holds now: one statement per workspace and condition. */
  private async holding(
    tx: RunTx,
    states: RunState[],
    conditionOf: (state: RunState) => string,
    now: Date,
  ): Promise<Set<RunState>> {
    const groups = new Map<string, RunState[]>();
    for (const state of states) {
      if (state.parked) continue;
      const key = `${state.workspaceId}\u0000${levelOf(state.definition)}\u0000${conditionOf(state)}`;
      groups.set(key, [...(groups.get(key) ?? []), state]);
    }
    const holding = new Set<RunState>();
    for (const [key, group] of groups) {
      const [workspaceId, level, text] = key.split('\u0000') as [string, 'profile' | 'account', string];
      const predicate = conditionPredicate(workspaceId, text, now, level);
      const matching = await this.runs.matching(
        tx,
        workspaceId,
        [...new Set(group.map((s) => s.profileId))],
        predicate,
        level,
      );
      for (const state of group) if (matching.has(state.profileId)) holding.add(state);
    }
    return holding;
  }

  /**
   * People's sends are counted under their cap locks, taken once per pass for all its people (in
   * one statement, in key order, so two passes cannot deadlock) and held until its sends are
   * written and committed: an audience-sync email checked meanwhile waits, then counts them
   * (DeliveryRepository.checkCap).
   */
  private async lockCappedPeople(tx: RunTx, states: RunState[], messaging: Map<string, MessagingSettings>) {
    const capped = states.filter(
      (s) => levelOf(s.definition) === 'profile' && (messaging.get(s.workspaceId)?.frequencyCap ?? 0) > 0,
    );
    if (capped.length === 0) return;
    await tx.rows(
      advisoryLocksSql(
        FREQUENCY_CAP_LOCK_CLASS,
        capped.map((s) => frequencyCapLockKey(s.workspaceId, s.profileId)),
      ),
    );
  }

  private async messagingOf(states: RunState[]): Promise<Map<string, MessagingSettings>> {
    const settings = new Map<string, MessagingSettings>();
    for (const workspaceId of new Set(states.map((s) => s.workspaceId))) {
      settings.set(workspaceId, (await this.settings.effective(workspaceId)).messaging);
    }
    return settings;
  }

  /**
   * Quiet hours (the journey's, in the person's or the account's time zone) and the workspace's
   * frequency cap, for the runs at a send step: what each may do now. The cap counts messages per
   * person: an account run's email goes to several, so its deliveries meet the cap one recipient at
   * a time when they are sent (the delivery workers hold or skip them, as for audience syncs).
   */
  private async guardrails(
    tx: RunTx,
    states: RunState[],
    now: Date,
    messaging: Map<string, MessagingSettings>,
    sentNow: Map<string, Date[]>,
  ) {
    const zones = new Map<string, string>();
    const recent = new Map<string, Date[]>();
    for (const workspaceId of new Set(states.map((s) => s.workspaceId))) {
      const inWorkspace = states.filter((s) => s.workspaceId === workspaceId);
      const of = (level: 'profile' | 'account') => [
        ...new Set(inWorkspace.filter((s) => levelOf(s.definition) === level).map((s) => s.profileId)),
      ];
      const profiles = of('profile');
      for (const level of ['profile', 'account'] as const) {
        const quiet = inWorkspace.filter((s) => s.definition.quietHours && levelOf(s.definition) === level);
        if (quiet.length === 0) continue;
        for (const [id, zone] of await this.runs.timeZones(tx, workspaceId, of(level), level)) zones.set(id, zone);
      }
      const cap = messaging.get(workspaceId);
      if (cap && cap.frequencyCap > 0 && profiles.length > 0) {
        const since = new Date(now.getTime() - cap.frequencyCapWindowHours * 3_600_000);
        for (const [id, times] of await this.runs.recentSends(tx, workspaceId, profiles, since)) recent.set(id, times);
      }
    }
    type Decision =
      { kind: 'send' } | { kind: 'wait'; until: Date; reason: 'quiet' | 'cap' } | { kind: 'skip'; reason: string };
    return {
      decide: (state: RunState, at: Date): Decision => {
        const settings = messaging.get(state.workspaceId);
        const quiet = state.definition.quietHours;
        if (quiet) {
          const zone = zones.get(state.profileId) ?? quiet.timezone ?? settings?.timezone ?? 'UTC';
          const until = quietUntil(quiet, at, zone);
          if (until) return { kind: 'wait', until, reason: 'quiet' };
        }
        if (settings && settings.frequencyCap > 0 && levelOf(state.definition) === 'profile') {
          const times = [...(recent.get(state.profileId) ?? []), ...(sentNow.get(state.profileId) ?? [])];
          if (times.length >= settings.frequencyCap) {
            if (settings.frequencyCapMode === 'skip') return { kind: 'skip', reason: 'frequency cap' };
            const oldest = Math.min(...times.map((t) => t.getTime()));
            return {
              kind: 'wait',
              until: new Date(oldest + settings.frequencyCapWindowHours * 3_600_000 + 1_000),
              reason: 'cap',
            };
          }
          sentNow.set(state.profileId, [...(sentNow.get(state.profileId) ?? []), at]);
        }
        return { kind: 'send' };
      },
    };
  }
}
