import { Injectable } from '@nestjs/common';

import { Prisma } from '../generated/prisma/client';
import { DirectTx, PrismaService } from '../prisma/prisma.service';
import type { SubjectLevel } from './journey-definition';

/** The runner's transactions run their statements straight on the pool (see directTransaction). */
export type RunTx = DirectTx;

export type RunStatus = 'active' | 'converted' | 'exited' | 'completed';

/** A run as the runner moves it. */
export interface RunRow {
  id: string;
  workspaceId: string;
  journeyId: string;
  version: number;
  profileId: string;
  stepId: string;
  stepSeq: number;
  stepEnteredAt: Date;
  dueAt: Date | null;
  variant: string | null;
  startedAt: Date;
}

/** A journey that admits people: active, with its entry audience resolved. */
export interface AdmittingJourney {
  id: string;
  workspaceId: string;
  version: number;
  definition: unknown;
  activatedAt: Date;
  entriesScannedUntil: Date | null;
  audienceId: string | null;
  audienceDefinition: unknown;
}

export interface EntryCandidate {
  /** A bigint, as text. */
  transitionId: string;
  profileId: string;
  at: Date;
}

export interface NewRun {
  id: string;
  workspaceId: string;
  journeyId: string;
  version: number;
  profileId: string;
  entryTransitionId: string | null;
  stepId: string;
  now: Date;
}

/** What one pass of the runner writes back for one run. */
export interface RunUpdate {
  id: string;
  status: RunStatus;
  stepId: string;
  stepSeq: number;
  stepEnteredAt: Date;
  dueAt: Date | null;
  variant: string | null;
  endedAt: Date | null;
  endReason: string | null;
}

export interface HistoryRow {
  runId: string;
  seq: number;
  stepId: string;
  kind: string;
  enteredAt: Date;
  leftAt: Date;
  outcome: string;
  detail: Record<string, unknown> | null;
}

export interface JourneySend {
  runId: string;
  seq: number;
  workspaceId: string;
  destinationId: string;
  /** The run's person, or its account. */
  subjectId: string;
  /** Account runs: the recipients, a predicate over the member's profile `p`; absent for a person's run. */
  recipients?: Prisma.Sql;
}

/** The table a level's subjects live in, as the alias its compiled conditions use. */
function subjects(level: SubjectLevel): Prisma.Sql {
  return level === 'account' ? Prisma.sql`groups g` : Prisma.sql`profiles p`;
}
function subjectId(level: SubjectLevel): Prisma.Sql {
  return level === 'account' ? Prisma.sql`g.id` : Prisma.sql`p.id`;
}

const runColumns = Prisma.sql`
  r.id::text AS id, r.workspace_id::text AS "workspaceId", r.journey_id::text AS "journeyId", r.version,
  r.profile_id::text AS "profileId", r.step_id AS "stepId", r.step_seq AS "stepSeq",
  r.step_entered_at AS "stepEnteredAt", r.due_at AS "dueAt", r.variant, r.started_at AS "startedAt"`;

/** Timers, entries and steps of runs. Every statement of a pass runs in the runner's transaction. */
@Injectable()
export class JourneyRunsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Statements outside a transaction, on the same path. */
  private readonly direct: RunTx = {
    rows: (statement) => this.prisma.query(statement),
    run: async (statement) => (await this.prisma.query(statement)).length,
  };

  transaction<T>(work: (tx: RunTx) => Promise<T>): Promise<T> {
    return this.prisma.directTransaction(work);
  }

  /**
   * Due runs of active journeys, locked for this pass. SKIP LOCKED: sweeps in parallel take
   * different runs, and a sweep never waits on a run an evaluation holds (so the two cannot deadlock).
   */
  async claimDue(tx: RunTx, now: Date, limit: number): Promise<RunRow[]> {
    return tx.rows<RunRow>(Prisma.sql`
      SELECT ${runColumns} FROM journey_runs r
      WHERE r.status = 'active' AND r.due_at <= ${now}
        AND EXISTS (SELECT 1 FROM journeys j WHERE j.id = r.journey_id AND j.status = 'active')
      ORDER BY r.due_at
      LIMIT ${limit}::int
      FOR UPDATE OF r SKIP LOCKED`);
  }

  /** Active runs of these profiles in the workspace's active journeys, locked in id order. */
  async lockActiveOfProfiles(tx: RunTx, workspaceId: string, profileIds: readonly string[]): Promise<RunRow[]> {
    return tx.rows<RunRow>(Prisma.sql`
      SELECT ${runColumns} FROM journey_runs r
      WHERE r.workspace_id = ${workspaceId}::uuid AND r.active_profile_id = ANY(${[...profileIds]}::uuid[])
        AND r.status = 'active'
        AND EXISTS (SELECT 1 FROM journeys j WHERE j.id = r.journey_id AND j.status = 'active')
      ORDER BY r.id
      FOR UPDATE OF r`);
  }

  async lockRuns(tx: RunTx, runIds: readonly string[]): Promise<RunRow[]> {
    return tx.rows<RunRow>(Prisma.sql`
      SELECT ${runColumns} FROM journey_runs r
      WHERE r.id = ANY(${[...runIds]}::uuid[]) AND r.status = 'active'
      ORDER BY r.id
      FOR UPDATE OF r`);
  }

  async definitionOf(journeyId: string, version: number): Promise<unknown> {
    const rows = await this.direct.rows<{ definition: unknown }>(Prisma.sql`
      SELECT definition FROM journey_versions WHERE journey_id = ${journeyId}::uuid AND version = ${version}::int`);
    return rows[0]?.definition ?? null;
  }

  /** Active journeys of a workspace (all workspaces when null), with their entry audience. */
  async admittingJourneys(workspaceId: string | null, tx: RunTx = this.direct): Promise<AdmittingJourney[]> {
    const scope = workspaceId ? Prisma.sql`AND j.workspace_id = ${workspaceId}::uuid` : Prisma.empty;
    return tx.rows<AdmittingJourney>(Prisma.sql`
      SELECT j.id::text AS id, j.workspace_id::text AS "workspaceId", j.version, j.definition,
             j.activated_at AS "activatedAt", j.entries_scanned_until AS "entriesScannedUntil",
             a.id::text AS "audienceId", a.definition_ast AS "audienceDefinition"
      FROM journeys j
      LEFT JOIN audiences a ON a.workspace_id = j.workspace_id AND a.key = j.definition->'entry'->>'audience'
      WHERE j.status = 'active' AND j.activated_at IS NOT NULL ${scope}
      ORDER BY j.id`);
  }

  /** Entered transitions of the audience since `since` that started no run of the journey yet. */
  async entryCandidates(
    tx: RunTx,
    journeyId: string,
    audienceId: string,
    since: Date,
    profileIds?: readonly string[],
  ): Promise<EntryCandidate[]> {
    const profiles = profileIds ? Prisma.sql`AND t.profile_id = ANY(${[...profileIds]}::uuid[])` : Prisma.empty;
    return tx.rows<EntryCandidate>(Prisma.sql`
      SELECT t.id AS "transitionId", t.profile_id::text AS "profileId", t.at
      FROM audience_transitions t
      WHERE t.audience_id = ${audienceId}::uuid AND t.kind = 'entered' AND t.at >= ${since} ${profiles}
        AND NOT EXISTS (SELECT 1 FROM journey_runs r WHERE r.journey_id = ${journeyId}::uuid AND r.entry_transition_id = t.id)
      ORDER BY t.id
      LIMIT 50000`);
  }

  /** Current members: the entries of `includeCurrentMembers` on first activation. */
  async currentMembers(tx: RunTx, audienceId: string): Promise<string[]> {
    const rows = await tx.rows<{ id: string }>(Prisma.sql`
      SELECT profile_id::text AS id FROM audience_members WHERE audience_id = ${audienceId}::uuid ORDER BY profile_id`);
    return rows.map((row) => row.id);
  }

  /** Per profile: is a run active, and when did the latest run start and end. */
  async previousRuns(
    tx: RunTx,
    journeyId: string,
    profileIds: readonly string[],
  ): Promise<{ profileId: string; active: boolean; lastStartedAt: Date }[]> {
    return tx.rows(Prisma.sql`
      SELECT profile_id::text AS "profileId", bool_or(status = 'active') AS active, max(started_at) AS "lastStartedAt"
      FROM journey_runs WHERE journey_id = ${journeyId}::uuid AND profile_id = ANY(${[...profileIds]}::uuid[])
      GROUP BY profile_id`);
  }

  /** Inserts runs; one that collides with an active run or a used transition is left out. */
  async insertRuns(tx: RunTx, runs: NewRun[]): Promise<string[]> {
    if (runs.length === 0) return [];
    const rows = await tx.rows<{ id: string }>(Prisma.sql`
      INSERT INTO journey_runs (id, workspace_id, journey_id, version, profile_id, active_profile_id, entry_transition_id,
                                status, step_id, step_seq, step_entered_at, due_at, started_at)
      SELECT v.id, v.workspace_id, v.journey_id, v.version, v.profile_id, v.profile_id, v.transition_id,
             'active', v.step_id, 0, v.at, v.at, v.at
      FROM unnest(${runs.map((r) => r.id)}::uuid[], ${runs.map((r) => r.workspaceId)}::uuid[],
                  ${runs.map((r) => r.journeyId)}::uuid[], ${runs.map((r) => r.version)}::int[],
                  ${runs.map((r) => r.profileId)}::uuid[], ${runs.map((r) => r.entryTransitionId)}::bigint[],
                  ${runs.map((r) => r.stepId)}::text[], ${runs.map((r) => r.now)}::timestamptz[])
           AS v(id, workspace_id, journey_id, version, profile_id, transition_id, step_id, at)
      ON CONFLICT DO NOTHING
      RETURNING id::text AS id`);
    return rows.map((row) => row.id);
  }

  /**
   * The event that started each run: the profile's latest event at or before its entry (the entry
   * transition, else the run's start), among the events its entry audience names when it names any
   * (the "Product Added" of a cart drop-off). For an account run, the latest such event of any member.
   */
  async stampEntryEvents(
    tx: RunTx,
    runIds: readonly string[],
    eventNames: readonly string[],
    level: SubjectLevel = 'profile',
  ): Promise<void> {
    if (runIds.length === 0) return;
    const names = eventNames.length > 0 ? Prisma.sql`AND e.name = ANY(${[...eventNames]}::text[])` : Prisma.empty;
    const who =
      level === 'account'
        ? Prisma.sql`e.profile_id IN (SELECT gm.profile_id FROM group_memberships gm WHERE gm.group_id = r.profile_id)`
        : Prisma.sql`e.profile_id = r.profile_id`;
    await tx.run(Prisma.sql`
      UPDATE journey_runs r SET entry_event = (
        SELECT jsonb_build_object('name', e.name, 'type', e.type, 'properties', e.properties,
                                  'timestamp', e.timestamp, 'messageId', e.message_id)
        FROM events e
        WHERE e.workspace_id = r.workspace_id AND ${who} ${names}
          AND e.timestamp <= coalesce((SELECT t.at FROM audience_transitions t WHERE t.id = r.entry_transition_id),
                                      r.started_at) + interval '5 minutes'
        ORDER BY e.timestamp DESC LIMIT 1)
      WHERE r.id = ANY(${[...runIds]}::uuid[])`);
  }

  async markScanned(tx: RunTx, journeyId: string, until: Date): Promise<void> {
    await tx.run(Prisma.sql`
      UPDATE journeys SET entries_scanned_until = greatest(coalesce(entries_scanned_until, ${until}), ${until})
      WHERE id = ${journeyId}::uuid`);
  }

  /**
   * Active runs whose person left the entry audience after the run started and is not back in it
   * (for `onAudienceExit`): from exited transitions since `since`, of these profiles when given.
   */
  async runsLeavingAudience(
    tx: RunTx,
    journeyId: string,
    audienceId: string,
    since: Date,
    profileIds?: readonly string[],
  ): Promise<RunRow[]> {
    const profiles = profileIds ? Prisma.sql`AND t.profile_id = ANY(${[...profileIds]}::uuid[])` : Prisma.empty;
    return tx.rows<RunRow>(Prisma.sql`
      SELECT ${runColumns} FROM journey_runs r
      WHERE r.journey_id = ${journeyId}::uuid AND r.status = 'active'
        AND r.active_profile_id IN (
          SELECT t.profile_id FROM audience_transitions t
          WHERE t.audience_id = ${audienceId}::uuid AND t.kind = 'exited' AND t.at >= ${since} ${profiles})
        AND EXISTS (SELECT 1 FROM audience_transitions t WHERE t.audience_id = ${audienceId}::uuid
                    AND t.profile_id = r.profile_id AND t.kind = 'exited' AND t.at >= r.started_at)
        AND NOT EXISTS (SELECT 1 FROM audience_members m WHERE m.audience_id = ${audienceId}::uuid AND m.profile_id = r.profile_id)
      ORDER BY r.id
      FOR UPDATE OF r`);
  }

  /** Subjects (profiles, or accounts) among `subjectIds` for which the compiled condition holds. */
  async matching(
    tx: RunTx,
    workspaceId: string,
    subjectIds: readonly string[],
    predicate: Prisma.Sql,
    level: SubjectLevel = 'profile',
  ): Promise<Set<string>> {
    if (subjectIds.length === 0) return new Set();
    const id = subjectId(level);
    const alias = level === 'account' ? Prisma.sql`g` : Prisma.sql`p`;
    const rows = await tx.rows<{ id: string }>(Prisma.sql`
      SELECT ${id}::text AS id FROM ${subjects(level)}
      WHERE ${id} = ANY(${[...subjectIds]}::uuid[]) AND ${alias}.workspace_id = ${workspaceId}::uuid AND (${predicate})`);
    return new Set(rows.map((row) => row.id));
  }

  /** The accounts these profiles are members of (their account journeys' runs react to them). */
  async accountsOf(tx: RunTx, workspaceId: string, profileIds: readonly string[]): Promise<string[]> {
    if (profileIds.length === 0) return [];
    const rows = await tx.rows<{ id: string }>(Prisma.sql`
      SELECT DISTINCT gm.group_id::text AS id FROM group_memberships gm JOIN groups g ON g.id = gm.group_id
      WHERE gm.profile_id = ANY(${[...profileIds]}::uuid[]) AND g.workspace_id = ${workspaceId}::uuid`);
    return rows.map((row) => row.id);
  }

  /** Messages each person got since `since`: journey sends and audience-sync deliveries alike. */
  async recentSends(
    tx: RunTx,
    workspaceId: string,
    profileIds: readonly string[],
    since: Date,
  ): Promise<Map<string, Date[]>> {
    const rows = await tx.rows<{ profileId: string; at: Date }>(Prisma.sql`
      SELECT r.profile_id::text AS "profileId", h.left_at AS at
      FROM journey_runs r JOIN journey_run_steps h ON h.run_id = r.id
      WHERE r.workspace_id = ${workspaceId}::uuid AND r.profile_id = ANY(${[...profileIds]}::uuid[])
        AND h.kind = 'send' AND h.outcome = 'sent' AND h.left_at > ${since}
      UNION ALL
      SELECT t.profile_id::text, t.at
      FROM audience_transitions t JOIN deliveries d ON d.transition_id = t.id
      WHERE t.workspace_id = ${workspaceId}::uuid AND t.profile_id = ANY(${[...profileIds]}::uuid[]) AND t.at > ${since}
        AND d.status NOT IN ('skipped', 'suppressed', 'dead')`);
    const byProfile = new Map<string, Date[]>();
    for (const row of rows) byProfile.set(row.profileId, [...(byProfile.get(row.profileId) ?? []), row.at]);
    return byProfile;
  }

  /**
   * Time zones of people: `timezone` trait, else the latest event's context.timezone; of accounts,
   * their `timezone` trait.
   */
  async timeZones(
    tx: RunTx,
    workspaceId: string,
    profileIds: readonly string[],
    level: SubjectLevel = 'profile',
  ): Promise<Map<string, string>> {
    if (level === 'account') {
      const accounts = await tx.rows<{ id: string; zone: string | null }>(Prisma.sql`
        SELECT g.id::text AS id, g.traits->>'timezone' AS zone FROM groups g
        WHERE g.id = ANY(${[...profileIds]}::uuid[]) AND g.workspace_id = ${workspaceId}::uuid`);
      return new Map(accounts.flatMap((row) => (row.zone ? [[row.id, row.zone] as [string, string]] : [])));
    }
    const rows = await tx.rows<{ id: string; zone: string | null }>(Prisma.sql`
      SELECT p.id::text AS id, coalesce(p.traits->>'timezone', (
        SELECT e.context->>'timezone' FROM events e
        WHERE e.workspace_id = p.workspace_id AND e.profile_id = p.id AND e.context ? 'timezone'
        ORDER BY e.timestamp DESC LIMIT 1)) AS zone
      FROM profiles p WHERE p.id = ANY(${[...profileIds]}::uuid[]) AND p.workspace_id = ${workspaceId}::uuid`);
    const zones = new Map<string, string>();
    for (const row of rows) if (row.zone) zones.set(row.id, row.zone);
    return zones;
  }

  async writeUpdates(tx: RunTx, updates: RunUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    await tx.run(Prisma.sql`
      UPDATE journey_runs r
      SET status = v.status::journey_run_status, step_id = v.step_id, step_seq = v.step_seq,
          step_entered_at = v.step_entered_at, due_at = v.due_at, variant = v.variant, ended_at = v.ended_at,
          end_reason = v.end_reason,
          active_profile_id = CASE WHEN v.status = 'active' THEN r.profile_id END
      FROM unnest(${updates.map((u) => u.id)}::uuid[], ${updates.map((u) => u.status)}::text[],
                  ${updates.map((u) => u.stepId)}::text[], ${updates.map((u) => u.stepSeq)}::int[],
                  ${updates.map((u) => u.stepEnteredAt)}::timestamptz[], ${updates.map((u) => u.dueAt)}::timestamptz[],
                  ${updates.map((u) => u.variant)}::text[], ${updates.map((u) => u.endedAt)}::timestamptz[],
                  ${updates.map((u) => u.endReason)}::text[])
           AS v(id, status, step_id, step_seq, step_entered_at, due_at, variant, ended_at, end_reason)
      WHERE r.id = v.id`);
  }

  async writeHistory(tx: RunTx, rows: HistoryRow[]): Promise<void> {
    if (rows.length === 0) return;
    await tx.run(Prisma.sql`
      INSERT INTO journey_run_steps (run_id, seq, step_id, kind, entered_at, left_at, outcome, detail)
      SELECT * FROM unnest(${rows.map((h) => h.runId)}::uuid[], ${rows.map((h) => h.seq)}::int[],
                           ${rows.map((h) => h.stepId)}::text[], ${rows.map((h) => h.kind)}::text[],
                           ${rows.map((h) => h.enteredAt)}::timestamptz[], ${rows.map((h) => h.leftAt)}::timestamptz[],
                           ${rows.map((h) => h.outcome)}::text[],
                           ${rows.map((h) => (h.detail ? JSON.stringify(h.detail) : null))}::jsonb[])`);
  }

  /**
   * The deliveries of send steps, unique per run, step and recipient: a pass that runs again after
   * a crash (its transaction rolled back) inserts them again, one that committed cannot insert them
   * twice. A person's run sends to that person; an account run to each of the account's members
   * its recipients condition chooses, as of this step.
   */
  async insertSends(tx: RunTx, sends: JourneySend[]): Promise<{ id: string; destinationId: string }[]> {
    const inserted: { id: string; destinationId: string }[] = [];
    const people = sends.filter((s) => !s.recipients);
    if (people.length > 0) inserted.push(...(await this.insertSendRows(tx, people, null)));
    // One statement per recipients condition (a journey's steps share few).
    const byCondition = new Map<string, JourneySend[]>();
    for (const send of sends) {
      if (!send.recipients) continue;
      const key = JSON.stringify([send.recipients.text, send.recipients.values]);
      byCondition.set(key, [...(byCondition.get(key) ?? []), send]);
    }
    for (const group of byCondition.values()) {
      inserted.push(...(await this.insertSendRows(tx, group, group[0]!.recipients!)));
    }
    return inserted;
  }

  private insertSendRows(
    tx: RunTx,
    sends: JourneySend[],
    recipients: Prisma.Sql | null,
  ): Promise<{ id: string; destinationId: string }[]> {
    const recipient = recipients ? Prisma.sql`p.id` : Prisma.sql`v.subject_id`;
    // A person's send passed the cap when its step ran (under the person's cap lock, see
    // JourneyRunner): it counts from now, also while it waits for a delivery worker. An account's
    // emails meet the cap recipient by recipient when they are sent.
    const countedAt = recipients ? Prisma.sql`NULL::timestamptz` : Prisma.sql`now()`;
    const members = recipients
      ? Prisma.sql`JOIN group_memberships gm ON gm.group_id = v.subject_id
          JOIN profiles p ON p.id = gm.profile_id AND p.merged_into_id IS NULL AND (${recipients})`
      : Prisma.empty;
    return tx.rows(Prisma.sql`
      WITH values_ AS (
        SELECT * FROM unnest(${sends.map((s) => s.workspaceId)}::uuid[], ${sends.map((s) => s.destinationId)}::uuid[],
                             ${sends.map((s) => s.runId)}::uuid[], ${sends.map((s) => s.seq)}::int[],
                             ${sends.map((s) => s.subjectId)}::uuid[])
             AS v(workspace_id, destination_id, run_id, seq, subject_id))
      INSERT INTO deliveries (id, workspace_id, destination_id, journey_run_id, journey_seq, recipient_id, cap_counted_at)
      SELECT gen_random_uuid(), v.workspace_id, v.destination_id, v.run_id, v.seq, ${recipient}, ${countedAt}
      FROM values_ v ${members}
      WHERE EXISTS (SELECT 1 FROM destinations d WHERE d.id = v.destination_id)
      ON CONFLICT DO NOTHING
      RETURNING id::text AS id, destination_id::text AS "destinationId"`);
  }
}
