import { randomUUID } from 'node:crypto';

import { getQueueToken } from '@nestjs/bullmq';
import type { Job, Queue } from 'bullmq';

import { readAudienceDefinition } from '../../src/audiences/language/audience-definition';
import { PROFILES_PER_CHANGE } from '../../src/membership/profile-changes.repository';
import { QueueName } from '../../src/queues/queue-names';
import { TestApp } from '../support/app';
import { waitFor } from '../support/wait-for';
import { TestSql } from '../tracking/tracking-support';

export const DAY = 86_400_000;

/** Profiles, events and audiences written straight to the database: fast and deterministic. */
export class MembershipFixtures {
  constructor(
    readonly sql: TestSql,
    readonly workspaceId: string,
    readonly sourceId: string,
  ) {}

  async profile(options: { traits?: object; seenAt?: Date } = {}): Promise<string> {
    const seenAt = (options.seenAt ?? new Date('2026-01-01T00:00:00Z')).toISOString();
    const [row] = await this.sql.rows<{ id: string }>(
      `INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
       VALUES (gen_random_uuid(), $1, $2, $3, $3) RETURNING id`,
      [this.workspaceId, JSON.stringify(options.traits ?? {}), seenAt],
    );
    return row!.id;
  }

  /**
   * A track event. Its profile's first/last seen widen at once, as ingestion did before it left
   * them to evaluation; with `deferSeen`, as ingestion does now: the profile row stays as it is
   * (evaluation applies its events' first/last seen) and an outbox row lists the profile.
   */
  async event(
    profileId: string,
    name: string,
    at: Date,
    properties: object = {},
    options: { deferSeen?: boolean; heldForMs?: number } = {},
  ): Promise<void> {
    await this.sql.rows(
      `INSERT INTO events (workspace_id, profile_id, source_id, message_id, type, name, properties, timestamp, received_at)
       VALUES ($1, $2, $3, $4, 'track', $5, $6, $7, $7)`,
      [
        this.workspaceId,
        profileId,
        this.sourceId,
        `m-${randomUUID()}`,
        name,
        JSON.stringify(properties),
        at.toISOString(),
      ],
    );
    if (options.deferSeen) {
      await this.sql.rows(
        // heldForMs: claimed by an evaluator that is not done with it (so the app's own evaluation leaves it alone).
        `INSERT INTO profile_changes (workspace_id, profile_ids, claimed_until)
         VALUES ($1, ARRAY[$2::uuid], now() + $3::int * interval '1 millisecond')`,
        [this.workspaceId, profileId, options.heldForMs ?? null],
      );
      return;
    }
    // First/last seen always bracket the profile's events once applied (the compiler relies on it).
    await this.sql.rows(
      `UPDATE profiles SET first_seen_at = least(first_seen_at, $2), last_seen_at = greatest(last_seen_at, $2)
       WHERE id = $1`,
      [profileId, at.toISOString()],
    );
  }

  /** What a request's ingestion does in its transaction: rows listing the profiles, PROFILES_PER_CHANGE a row. */
  async changed(...profileIds: string[]): Promise<void> {
    for (let start = 0; start < profileIds.length; start += PROFILES_PER_CHANGE) {
      await this.sql.rows('INSERT INTO profile_changes (workspace_id, profile_ids) VALUES ($1, $2::uuid[])', [
        this.workspaceId,
        profileIds.slice(start, start + PROFILES_PER_CHANGE),
      ]);
    }
  }

  async audience(
    key: string,
    definition: string,
    options: { includeHistoricalData?: boolean; historyStartsAt?: Date; refreshIntervalSeconds?: number } = {},
  ): Promise<string> {
    const read = readAudienceDefinition(definition);
    if (!read.ok) throw new Error(`bad definition in test: ${JSON.stringify(read.errors)}`);
    const [row] = await this.sql.rows<{ id: string }>(
      `INSERT INTO audiences (id, workspace_id, key, name, definition_ast, definition_text, include_historical_data,
                              history_starts_at, refresh_interval_seconds, updated_at)
       VALUES (gen_random_uuid(), $1, $2, $2, $3, $4, $5, $6, $7, now()) RETURNING id`,
      [
        this.workspaceId,
        key,
        JSON.stringify(read.ast),
        read.text,
        options.includeHistoricalData ?? true,
        options.historyStartsAt?.toISOString() ?? null,
        options.refreshIntervalSeconds ?? 3600,
      ],
    );
    return row!.id;
  }

  /** What PATCH does: a new definition is a new version. */
  async redefine(audienceId: string, definition: string): Promise<void> {
    const read = readAudienceDefinition(definition);
    if (!read.ok) throw new Error(`bad definition in test: ${JSON.stringify(read.errors)}`);
    await this.sql.rows(
      'UPDATE audiences SET definition_ast = $2, definition_text = $3, version = version + 1 WHERE id = $1',
      [audienceId, JSON.stringify(read.ast), read.text],
    );
  }

  async members(audienceId: string): Promise<string[]> {
    const rows = await this.sql.rows<{ profile_id: string }>(
      'SELECT profile_id FROM audience_members WHERE audience_id = $1 ORDER BY profile_id',
      [audienceId],
    );
    return rows.map((r) => r.profile_id);
  }

  async transitions(audienceId: string): Promise<{ profile_id: string; kind: string; audience_version: number }[]> {
    return this.sql.rows(
      'SELECT profile_id, kind::text, audience_version FROM audience_transitions WHERE audience_id = $1 ORDER BY id',
      [audienceId],
    );
  }

  async audienceRow(audienceId: string): Promise<{
    status: string;
    status_reason: string | null;
    member_count: number;
    last_computed_at: Date | null;
  }> {
    const [row] = await this.sql.rows<{
      status: string;
      status_reason: string | null;
      member_count: number;
      last_computed_at: Date | null;
    }>('SELECT status::text, status_reason, member_count, last_computed_at FROM audiences WHERE id = $1', [audienceId]);
    return row!;
  }
}

/**
 * The ledger invariants: every member has exactly one transition more `entered` than `exited`
 * (its open entry), every non-member as many of each, and transitions alternate per profile.
 */
export async function ledgerProblems(sql: TestSql, audienceId: string): Promise<string[]> {
  const rows = await sql.rows<{ profile_id: string; kinds: string[]; member: boolean }>(
    `SELECT t.profile_id, array_agg(t.kind::text ORDER BY t.id) AS kinds,
            EXISTS (SELECT 1 FROM audience_members m WHERE m.audience_id = $1 AND m.profile_id = t.profile_id) AS member
     FROM audience_transitions t WHERE t.audience_id = $1 GROUP BY t.profile_id`,
    [audienceId],
  );
  const problems: string[] = [];
  for (const row of rows) {
    const alternates = row.kinds.every((kind, i) => kind === (i % 2 === 0 ? 'entered' : 'exited'));
    const open = row.kinds[row.kinds.length - 1] === 'entered';
    if (!alternates) problems.push(`${row.profile_id}: transitions do not alternate: ${row.kinds.join(',')}`);
    if (open !== row.member) problems.push(`${row.profile_id}: member=${row.member} but ledger ${row.kinds.join(',')}`);
  }
  const orphans = await sql.rows<{ profile_id: string }>(
    `SELECT m.profile_id FROM audience_members m
     WHERE m.audience_id = $1 AND NOT EXISTS (
       SELECT 1 FROM audience_transitions t WHERE t.audience_id = $1 AND t.profile_id = m.profile_id)`,
    [audienceId],
  );
  for (const row of orphans) problems.push(`${row.profile_id}: member without an entered transition`);
  const [count] = await sql.rows<{ stored: number; actual: number }>(
    `SELECT member_count AS stored, (SELECT count(*)::int FROM audience_members WHERE audience_id = $1) AS actual
     FROM audiences WHERE id = $1`,
    [audienceId],
  );
  if (count && count.stored !== count.actual) problems.push(`member_count ${count.stored} but ${count.actual} members`);
  return problems;
}

export function queue(app: TestApp, name: QueueName): Queue {
  return app.personae.app.get<Queue>(getQueueToken(name));
}

/** Waits for a job to finish and returns its return value; throws with its failure reason. */
export async function finished<T>(app: TestApp, name: QueueName, jobId: string, timeoutMs = 20_000): Promise<T> {
  const job = await waitFor(
    async () => {
      const found: Job | undefined = await queue(app, name).getJob(jobId);
      if (!found) return undefined;
      const state = await found.getState();
      if (state === 'failed') throw new Error(`job ${jobId} failed: ${found.failedReason}`);
      // Fetched again: the job read before getState may still have been active.
      return state === 'completed' ? queue(app, name).getJob(jobId) : undefined;
    },
    { timeoutMs, what: `job ${jobId}` },
  );
  return job?.returnvalue as T;
}
