import { Injectable } from '@nestjs/common';

import { advisoryLockSql, FREQUENCY_CAP_LOCK_CLASS, frequencyCapLockKey } from '../database/audience-lock';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { seenNow } from '../profiles/profile-seen';
import type { DestinationType } from './destination-config';
import type { DeliveryStatus, QueuedRef } from './destinations.repository';

/** Everything a worker needs to send one delivery, loaded in the same statement that claims it. */
export interface ClaimedDelivery {
  id: string;
  workspaceId: string;
  destinationId: string;
  /** This attempt's number; also the fencing token of the claim. */
  attempts: number;
  kind: 'entered' | 'exited';
  at: Date;
  audienceId: string;
  audienceKey: string;
  audienceName: string;
  destinationType: DestinationType;
  config: unknown;
  destinationVersion: Date;
  profileId: string | null;
  traits: Record<string, unknown> | null;
  /** The profile's computed trait values by key (src/traits). */
  computed: Record<string, unknown>;
  identities: { type: string; value: string }[];
  email: string | null;
  suppression: string | null;
  connected: boolean;
  /** An account audience's delivery: the account, as of the transition; null for a profile audience. */
  account: ClaimedAccount | null;
  /** Set for a journey send: which journey, run and step, and the step's own templates. */
  journey: JourneyContext | null;
  /** Set for a computed trait's change (a history row): the profile is the one whose value changed. */
  traitChange: TraitChange | null;
  /**
   * Whether the workspace's frequency cap is checked here, when the email is sent: for audience
   * syncs and account journeys (one message per recipient). A person's journey send met the cap
   * when its step ran.
   */
  capAtSend?: boolean;
  /** The workspace's stored `messaging` settings (read with their defaults by the processor). */
  messaging?: unknown;
}

export interface TraitChange {
  /** The history row's id: one delivery per destination and change. */
  changeId: string;
  traitId: string;
  key: string;
  name: string;
  /** null: the profile had no value before (or has none any more). */
  oldValue: unknown;
  newValue: unknown;
}

export interface ClaimedAccount {
  groupId: string;
  traits: Record<string, unknown>;
  /** The account's computed trait and score values by key, as of the delivery (src/traits, src/scores). */
  computed: Record<string, unknown>;
  /** Current members. */
  members: number;
  /** Members seen within the 14 days before the transition. */
  activeMembers14d: number;
}

export interface JourneyContext {
  id: string;
  key: string;
  name: string;
  version: number;
  runId: string;
  step: string;
  variant: string | null;
  entryEvent: { name?: string; properties?: Record<string, unknown>; timestamp?: string } | null;
  templates: { subject: string | null; text: string | null; html: string | null } | null;
}

export interface DeliveryState {
  id: string;
  status: DeliveryStatus;
  claimedUntil: Date | null;
  nextAttemptAt: Date | null;
}

export interface WorkerDestination {
  id: string;
  type: DestinationType;
  rateLimitPerSecond: number | null;
  config: unknown;
  updatedAt: Date;
}

export type FinalStatus = 'sent' | 'suppressed' | 'skipped' | 'dead';

/**
 * A subject's (profile `p.id` or account `g.id`) computed values by key, as templates and payloads
 * read them: its computed traits, and its adoption scores with their bands (`adoption_score`,
 * `adoption_score_band`). A trait wins over a score of the same key, as in audience conditions.
 */
function computedValues(subject: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`coalesce((SELECT json_object_agg(k.key, k.value ORDER BY k.rank) FROM (
      SELECT DISTINCT ON (x.key) x.key, x.value, x.rank FROM (
        SELECT ct.key, v.value, 0 AS rank FROM computed_trait_values v
          JOIN computed_traits ct ON ct.id = v.trait_id
         WHERE v.workspace_id = c.workspace_id AND v.profile_id = ${subject}
        UNION ALL
        SELECT o.key, o.value, 1 FROM scores s
          JOIN score_values sv ON sv.score_id = s.id AND sv.subject_id = ${subject}
          CROSS JOIN LATERAL (VALUES (s.key, to_jsonb(sv.value)), (s.key || '_band', to_jsonb(sv.band))) o(key, value)
         WHERE s.workspace_id = c.workspace_id) x
      ORDER BY x.key, x.rank) k), '{}'::json)`;
}

/** A profile `p`'s identities, as the messages name people (userId, anonymousId). */
const IDENTITIES = Prisma.sql`coalesce((SELECT json_agg(json_build_object('type', i.type, 'value', i.value) ORDER BY i.type, i.created_at)
                       FROM identities i WHERE i.profile_id = p.id), '[]'::json)`;

/** A profile `p`'s email address: its `email` trait, or else its oldest email identity (lateral `address`). */
const ADDRESS = Prisma.sql`LEFT JOIN LATERAL (
        SELECT lower(btrim(coalesce(
          CASE WHEN jsonb_typeof(p.traits->'email') = 'string' THEN nullif(btrim(p.traits->>'email'), '') END,
          (SELECT i.value FROM identities i WHERE i.profile_id = p.id AND i.type = 'email' ORDER BY i.created_at LIMIT 1)
        ))) AS email
      ) address ON true`;

/** A delivery that can be claimed now: waiting, due for its retry, or held by a worker that died. */
const CLAIMABLE = Prisma.sql`(status = 'queued'
               OR (status = 'failed' AND coalesce(next_attempt_at, now()) <= now())
               OR (status = 'sending' AND claimed_until < now()))`;

/** A claimed transition batch's own columns, read with its first transition only. */
export interface ClaimedBatchRow {
  id: string;
  workspaceId: string;
  destinationId: string;
  attempts: number;
  destinationType: DestinationType;
  config: unknown;
  destinationVersion: Date;
}

/** The audience of a batch's transitions, and whether it is still connected to the batch's destination. */
export interface BatchAudience {
  id: string;
  key: string;
  name: string;
  connected: boolean;
}

/**
 * One transition of a claimed transition batch, with what its messages say about the person. The
 * rows come in batch order, then transition order: a batch's own columns come with its first
 * transition (`batch`) and its audience with the first transition of each run of one audience
 * (`audience`), null on the others, so that what a batch's transitions share is not sent and
 * parsed once per transition (TransitionBatches.claim sets `audience` on every row).
 */
export interface BatchTransitionRow {
  batch: ClaimedBatchRow | null;
  audience: BatchAudience | null;
  transitionId: string;
  /** null when the transition is gone (its audience was deleted). */
  kind: 'entered' | 'exited' | null;
  at: Date | null;
  profileId: string | null;
  identities: { type: string; value: string }[];
  email: string | null;
}

/**
 * How a share of a transition batch's transitions ended: the first group stays in the batch's
 * row, each other one moves to a new row (same destination, same attempt count).
 */
export interface BatchOutcomeGroup {
  transitionIds: string[];
  status: FinalStatus | 'failed';
  error?: string;
  /** A `failed` group's retry. */
  retryAt?: Date;
}

/** A person's messages in the cap's window: how many, and when the oldest of them leaves it. */
export type CapCheck = { passed: true } | { passed: false; count: number; oldest: Date };

export interface FinishedAttempt {
  id: string;
  attempt: number;
  status: FinalStatus;
  error?: string;
  providerMessageId?: string;
}

/**
 * The queries of the delivery workers and the sweeper. A delivery id is global, so no workspace filter.
 * The statements of every email (claim, record, recheck) run straight on the pool as prepared
 * statements: through Prisma's query engine they cost three times the CPU of rendering the email,
 * and Postgres planned the claim's joins again for every batch (twice its CPU per statement).
 */
@Injectable()
export class DeliveryRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Claims a delivery for one attempt: only a `queued` one, a `failed` one whose retry is due, or a
   * `sending` one whose claim expired (its worker died). Two workers can never both hold it.
   */
  async claimMany(deliveryIds: string[], leaseMs: number): Promise<ClaimedDelivery[]> {
    return this.prisma.query<ClaimedDelivery>(
      Prisma.sql`
      WITH claimed AS (
        UPDATE deliveries
        SET status = 'sending', attempts = attempts + 1,
            claimed_until = now() + ${leaseMs}::int * interval '1 millisecond',
            next_attempt_at = NULL, updated_at = now()
        WHERE id = ANY(${deliveryIds}::uuid[]) AND transition_ids IS NULL AND ${CLAIMABLE}
        RETURNING id, workspace_id, destination_id, transition_id, recipient_id, journey_run_id, journey_seq,
                  trait_change_id, attempts
      )
      SELECT c.id, c.workspace_id AS "workspaceId", c.destination_id AS "destinationId", c.attempts,
             coalesce(t.kind::text, 'entered') AS kind, coalesce(t.at, h.left_at, ch.at, now()) AS at,
             coalesce(a.id::text, '') AS "audienceId", coalesce(a.key, '') AS "audienceKey", coalesce(a.name, '') AS "audienceName",
             dest.type::text AS "destinationType", dest.config, dest.updated_at AS "destinationVersion",
             p.id AS "profileId", p.traits,
             ${computedValues(Prisma.sql`p.id`)} AS computed,
             ${IDENTITIES} AS identities,
             address.email,
             (SELECT s.reason::text FROM suppressions s
              WHERE s.workspace_id = c.workspace_id AND s.email = address.email) AS suppression,
             CASE WHEN c.journey_run_id IS NOT NULL THEN true
                  WHEN c.trait_change_id IS NOT NULL THEN EXISTS (
                    SELECT 1 FROM trait_destinations td
                    WHERE td.trait_id = ch.trait_id AND td.destination_id = c.destination_id)
                  ELSE EXISTS (SELECT 1 FROM audience_destinations ad
                               WHERE ad.audience_id = t.audience_id AND ad.destination_id = c.destination_id) END AS connected,
             CASE WHEN subject.account_id IS NOT NULL THEN (
               SELECT json_build_object(
                 'groupId', g.group_id, 'traits', g.traits,
                 'computed', ${computedValues(Prisma.sql`g.id`)},
                 'members', count(p2.id),
                 'activeMembers14d', count(p2.id) FILTER (
                   WHERE seen.at > subject.at - interval '14 days' AND seen.at <= subject.at))
               FROM groups g
               LEFT JOIN group_memberships gm ON gm.group_id = g.id
               LEFT JOIN profiles p2 ON p2.id = gm.profile_id AND p2.merged_into_id IS NULL
               LEFT JOIN LATERAL (SELECT ${seenNow('p2').last} AS at) seen ON true
               WHERE g.id = subject.account_id
               GROUP BY g.id) END AS account,
             dest.type = 'email' AND (c.transition_id IS NOT NULL OR subject.account_id IS NOT NULL) AS "capAtSend",
             (SELECT w.settings->'messaging' FROM workspaces w WHERE w.id = c.workspace_id) AS messaging,
             CASE WHEN r.id IS NULL THEN NULL ELSE json_build_object(
               'id', j.id, 'key', j.key, 'name', j.name, 'version', r.version, 'runId', r.id, 'step', h.step_id,
               'variant', r.variant, 'entryEvent', r.entry_event,
               'templates', (SELECT json_build_object('subject', s.step->>'subject', 'text', s.step->>'text', 'html', s.step->>'html')
                             FROM jsonb_array_elements(jv.definition->'steps') s(step)
                             WHERE s.step->>'id' = h.step_id
                             LIMIT 1)) END AS journey,
             CASE WHEN ch.id IS NULL THEN NULL ELSE json_build_object(
               'changeId', ch.id::text, 'traitId', ch.trait_id, 'key', ctr.key, 'name', ctr.name,
               'oldValue', ch.old_value, 'newValue', ch.new_value) END AS "traitChange"
      FROM claimed c
      LEFT JOIN audience_transitions t ON t.id = c.transition_id
      LEFT JOIN audiences a ON a.id = t.audience_id
      LEFT JOIN journey_runs r ON r.id = c.journey_run_id
      LEFT JOIN journeys j ON j.id = r.journey_id
      LEFT JOIN journey_run_steps h ON h.run_id = r.id AND h.seq = c.journey_seq
      LEFT JOIN computed_trait_history ch ON ch.id = c.trait_change_id
      LEFT JOIN computed_traits ctr ON ctr.id = ch.trait_id
      LEFT JOIN journey_versions jv ON jv.journey_id = r.journey_id AND jv.version = r.version
      -- The account of an account audience's transition or of an account journey's run, as of then.
      CROSS JOIN LATERAL (
        SELECT CASE WHEN a.level = 'account' THEN t.profile_id
                    WHEN jv.definition->>'level' = 'account' THEN r.profile_id END AS account_id,
               coalesce(t.at, h.left_at, now()) AS at
      ) subject
      JOIN destinations dest ON dest.id = c.destination_id
      -- The recipient: an account audience's member, the transition's profile, the run's person, or
      -- the profile whose computed trait changed.
      LEFT JOIN profiles p0 ON p0.id = coalesce(c.recipient_id, t.profile_id, r.profile_id, ch.profile_id)
      LEFT JOIN profiles p ON p.id = coalesce(p0.merged_into_id, p0.id)
      ${ADDRESS}`,
      'delivery_claim',
    );
  }

  /**
   * Claims those of these deliveries that are transition batches (see profileDeliveries) and can
   * be claimed now (a claim planned by claimableBatchSizes: a request's worth), for one attempt as
   * claimMany claims a delivery. Reads one row per transition with only what audience messages
   * need: the transition, the person's identities and address; the batch's destination once per
   * batch, and the audience (and whether it is still connected) once per run of transitions of
   * one audience, so that neither is probed nor sent for every transition. No rows: none of them
   * could be claimed.
   */
  async claimTransitionBatches(deliveryIds: string[], leaseMs: number): Promise<BatchTransitionRow[]> {
    return this.prisma.query<BatchTransitionRow>(
      Prisma.sql`
      WITH claimed AS (
        UPDATE deliveries
        SET status = 'sending', attempts = attempts + 1,
            claimed_until = now() + ${leaseMs}::int * interval '1 millisecond',
            next_attempt_at = NULL, updated_at = now()
        -- A batch another worker claimed meanwhile is left to it.
        WHERE id = ANY(${deliveryIds}::uuid[]) AND transition_ids IS NOT NULL AND ${CLAIMABLE}
        RETURNING id, workspace_id, destination_id, attempts, transition_ids
      )
      SELECT CASE WHEN b.n = 1 THEN (
               SELECT json_build_object(
                 'id', c.id, 'workspaceId', c.workspace_id, 'destinationId', c.destination_id, 'attempts', c.attempts,
                 'destinationType', dest.type, 'config', dest.config, 'destinationVersion', dest.updated_at)
               FROM destinations dest WHERE dest.id = c.destination_id) END AS batch,
             CASE WHEN b.n = 1 OR t.audience_id IS DISTINCT FROM lag(t.audience_id) OVER w THEN (
               SELECT json_build_object('id', a.id, 'key', a.key, 'name', a.name, 'connected', EXISTS (
                        SELECT 1 FROM audience_destinations ad
                        WHERE ad.audience_id = a.id AND ad.destination_id = c.destination_id))
               FROM audiences a WHERE a.id = t.audience_id) END AS audience,
             b.id::text AS "transitionId", t.kind::text AS kind, t.at,
             p.id AS "profileId", ${IDENTITIES} AS identities, address.email
      FROM claimed c
      CROSS JOIN LATERAL unnest(c.transition_ids) WITH ORDINALITY b(id, n)
      LEFT JOIN audience_transitions t ON t.id = b.id
      LEFT JOIN profiles p0 ON p0.id = t.profile_id
      -- The profile it was merged into, if it was (a NULL key probes nothing).
      LEFT JOIN profiles pm ON pm.id = p0.merged_into_id
      CROSS JOIN LATERAL (
        SELECT coalesce(pm.id, p0.id) AS id, CASE WHEN pm.id IS NULL THEN p0.traits ELSE pm.traits END AS traits
      ) p
      ${ADDRESS}
      WINDOW w AS (ORDER BY c.id, b.n)
      -- The order the rows are read in: a batch's first row, then the rest of its transitions.
      ORDER BY c.id, b.n`,
      'delivery_claim_batch',
    );
  }

  /**
   * Records the end of a transition batch's attempt, fenced by the attempt number as finishMany
   * is: the first group stays in the row, the others move to new rows, all in one statement.
   * Returns the new rows (to enqueue the retries among them), or null when the claim was taken over.
   */
  async recordTransitionBatch(
    deliveryId: string,
    attempt: number,
    groups: BatchOutcomeGroup[],
  ): Promise<{ id: string; status: string; nextAttemptAt: Date | null }[] | null> {
    const outcomes = JSON.stringify(
      groups.map((g, n) => ({
        n,
        // A batch whose transitions all share one outcome keeps its array: the ids are not sent.
        ids: groups.length > 1 ? g.transitionIds : null,
        status: g.status,
        error: g.error ?? null,
        retry_at: g.retryAt?.toISOString() ?? null,
      })),
    );
    const rows = await this.prisma.query<{ id: string; status: string; nextAttemptAt: Date | null; head: boolean }>(
      Prisma.sql`
      WITH g AS (
        SELECT * FROM jsonb_to_recordset(${outcomes}::jsonb) AS g(n int, ids bigint[], status text, error text, retry_at timestamptz)
      ),
      head AS (
        UPDATE deliveries d
        SET status = g.status::delivery_status, last_error = g.error,
            -- Unchanged when every transition shares the outcome: the array is not written again.
            transition_ids = CASE WHEN ${groups.length}::int > 1 THEN g.ids ELSE d.transition_ids END,
            sent_at = CASE WHEN g.status = 'sent' THEN now() ELSE d.sent_at END,
            claimed_until = NULL, next_attempt_at = g.retry_at, updated_at = now()
        FROM g
        WHERE g.n = 0 AND d.id = ${deliveryId}::uuid AND d.status = 'sending' AND d.attempts = ${attempt}::int
        RETURNING d.id, d.workspace_id, d.destination_id, d.attempts, d.created_at
      ),
      moved AS (
        INSERT INTO deliveries (id, workspace_id, destination_id, transition_ids, status, attempts, last_error,
                                next_attempt_at, sent_at, created_at, updated_at)
        SELECT gen_random_uuid(), h.workspace_id, h.destination_id, g.ids, g.status::delivery_status, h.attempts,
               g.error, g.retry_at, CASE WHEN g.status = 'sent' THEN now() END, h.created_at, now()
        FROM head h JOIN g ON g.n > 0
        RETURNING id, status, next_attempt_at
      )
      SELECT id, true AS head, NULL::text AS status, NULL::timestamptz AS "nextAttemptAt" FROM head
      UNION ALL
      SELECT id, false, status::text, next_attempt_at FROM moved`,
      'delivery_record_batch',
    );
    if (!rows.some((row) => row.head)) return null;
    return rows.filter((row) => !row.head).map(({ id, status, nextAttemptAt }) => ({ id, status, nextAttemptAt }));
  }

  /**
   * The workspace's frequency cap for one claimed email, as it is about to be sent: the person's
   * messages in the last `windowHours` (sent, or passed the cap and waiting, being sent or retried,
   * as a person's journey send has from the moment its step passed; other deliveries than this one), counted under a lock on the person so that two emails to them
   * checked at once are counted one after the other. Under the cap, this delivery is marked as
   * counted (from now) before the lock is let go.
   */
  async checkCap(
    delivery: { id: string; workspaceId: string; attempts: number },
    personId: string,
    cap: number,
    windowHours: number,
  ): Promise<CapCheck> {
    return this.prisma.directTransaction(async (tx) => {
      await tx.rows(advisoryLockSql(FREQUENCY_CAP_LOCK_CLASS, frequencyCapLockKey(delivery.workspaceId, personId)));
      const [window] = await tx.rows<{ count: number; oldest: Date | null }>(Prisma.sql`
        SELECT count(*)::int AS count, min(coalesce(d.cap_counted_at, d.sent_at)) AS oldest
        FROM deliveries d
        LEFT JOIN audience_transitions t ON t.id = d.transition_id
        LEFT JOIN journey_runs r ON r.id = d.journey_run_id
        WHERE d.workspace_id = ${delivery.workspaceId}::uuid AND d.status IN ('queued', 'sending', 'sent', 'failed')
          AND coalesce(d.cap_counted_at, d.sent_at) > now() - ${windowHours}::int * interval '1 hour'
          AND d.id <> ${delivery.id}::uuid
          AND coalesce(d.recipient_id, t.profile_id, r.profile_id) = ${personId}::uuid`);
      const count = window?.count ?? 0;
      if (count >= cap && window?.oldest) return { passed: false, count, oldest: window.oldest };
      await tx.run(Prisma.sql`
        UPDATE deliveries SET cap_counted_at = now()
        WHERE id = ${delivery.id}::uuid AND status = 'sending' AND attempts = ${delivery.attempts}::int`);
      return { passed: true };
    });
  }

  /**
   * Held by the frequency cap until `until`: `failed` with its retry then (the delayed job or the
   * sweeper brings it back), and the hold is not an attempt (it does not count toward giving up).
   */
  async holdForCap(deliveryId: string, attempt: number, reason: string, until: Date): Promise<boolean> {
    const count = await this.prisma.$executeRaw`
      UPDATE deliveries
      SET status = 'failed', attempts = attempts - 1, last_error = ${reason}, claimed_until = NULL,
          next_attempt_at = ${until}, cap_counted_at = NULL, updated_at = now()
      WHERE id = ${deliveryId}::uuid AND status = 'sending' AND attempts = ${attempt}`;
    return count > 0;
  }

  /**
   * Those of these deliveries that are transition batches claimable now, in id order, with how
   * many transitions each holds: what a job plans its claims from.
   */
  async claimableBatchSizes(deliveryIds: string[]): Promise<{ id: string; transitions: number }[]> {
    return this.prisma.query<{ id: string; transitions: number }>(
      Prisma.sql`
      SELECT id, cardinality(transition_ids) AS transitions
      FROM deliveries
      WHERE id = ANY(${deliveryIds}::uuid[]) AND transition_ids IS NOT NULL AND ${CLAIMABLE}
      ORDER BY id`,
      'delivery_batch_sizes',
    );
  }

  /** Where deliveries that could not be claimed stand; a deleted one is missing from the answer. */
  async states(deliveryIds: string[]): Promise<DeliveryState[]> {
    return this.prisma.query<DeliveryState>(
      Prisma.sql`
      SELECT id, status::text AS status, claimed_until AS "claimedUntil", next_attempt_at AS "nextAttemptAt"
      FROM deliveries WHERE id = ANY(${deliveryIds}::uuid[])`,
      'delivery_states',
    );
  }

  /**
   * Records the end of attempts, one row each. Fenced by the attempt number: a worker whose claim
   * expired and was taken over records nothing for it (its id is not returned) instead of
   * overwriting the newer attempt.
   */
  async finishMany(outcomes: FinishedAttempt[]): Promise<string[]> {
    const rows = await this.prisma.query<{ id: string }>(
      Prisma.sql`
      UPDATE deliveries d
      SET status = v.status::delivery_status, last_error = v.error,
          provider_message_id = coalesce(v.message_id, d.provider_message_id),
          sent_at = CASE WHEN v.status = 'sent' THEN now() ELSE d.sent_at END,
          claimed_until = NULL, next_attempt_at = NULL, updated_at = now()
      FROM unnest(${outcomes.map((o) => o.id)}::uuid[], ${outcomes.map((o) => o.attempt)}::int[],
                  ${outcomes.map((o) => o.status)}::text[], ${outcomes.map((o) => o.error ?? null)}::text[],
                  ${outcomes.map((o) => o.providerMessageId ?? null)}::text[]) AS v(id, attempt, status, error, message_id)
      WHERE d.id = v.id AND d.status = 'sending' AND d.attempts = v.attempt
      RETURNING d.id`,
      'delivery_finish',
    );
    return rows.map((row) => row.id);
  }

  /**
   * Extends claims that are still ours (same attempt, still `sending`) by `leaseMs` from now, even
   * if they ran out meanwhile, as long as nobody took them over. Returns the ids renewed.
   */
  async renewClaims(claims: { id: string; attempt: number }[], leaseMs: number): Promise<string[]> {
    const rows = await this.prisma.query<{ id: string }>(
      Prisma.sql`
      UPDATE deliveries d SET claimed_until = now() + ${leaseMs}::int * interval '1 millisecond', updated_at = now()
      FROM unnest(${claims.map((c) => c.id)}::uuid[], ${claims.map((c) => c.attempt)}::int[]) AS v(id, attempt)
      WHERE d.id = v.id AND d.status = 'sending' AND d.attempts = v.attempt
      RETURNING d.id`,
      'delivery_renew',
    );
    return rows.map((row) => row.id);
  }

  /** A transient failure: `failed` until `retryAt`, when the delayed job (or the sweeper) tries again. */
  async retryLater(deliveryId: string, attempt: number, error: string, retryAt: Date): Promise<boolean> {
    const count = await this.prisma.$executeRaw`
      UPDATE deliveries
      SET status = 'failed', last_error = ${error}, claimed_until = NULL, next_attempt_at = ${retryAt}, updated_at = now()
      WHERE id = ${deliveryId}::uuid AND status = 'sending' AND attempts = ${attempt}`;
    return count > 0;
  }

  async suppress(workspaceId: string, email: string, reason: 'bounced' | 'complained'): Promise<void> {
    await this.prisma.$executeRaw`
      INSERT INTO suppressions (id, workspace_id, email, reason, created_at)
      VALUES (gen_random_uuid(), ${workspaceId}::uuid, ${email}, ${reason}::suppression_reason, now())
      ON CONFLICT (workspace_id, email) DO NOTHING`;
  }

  async destinations(): Promise<WorkerDestination[]> {
    return this.prisma.$queryRaw<WorkerDestination[]>`
      SELECT id, type::text AS type, rate_limit_per_second AS "rateLimitPerSecond", config, updated_at AS "updatedAt"
      FROM destinations ORDER BY id`;
  }

  /**
   * Deliveries Redis may have lost: `queued` for longer than `graceMs`, `failed` and overdue by
   * `graceMs`, or `sending` with an expired claim. Walks by id from `afterId` so that a big backlog
   * is inspected a page at a time rather than the same first page every sweep.
   */
  async overdue(graceMs: number, afterId: string, limit: number): Promise<QueuedRef[]> {
    return this.prisma.$queryRaw<QueuedRef[]>`
      SELECT id, destination_id AS "destinationId" FROM deliveries
      WHERE id > ${afterId}::uuid AND (
        (status = 'queued' AND created_at < now() - ${graceMs} * interval '1 millisecond')
        OR (status = 'failed' AND next_attempt_at < now() - ${graceMs} * interval '1 millisecond')
        OR (status = 'sending' AND claimed_until < now()))
      ORDER BY id
      LIMIT ${limit}`;
  }
}
