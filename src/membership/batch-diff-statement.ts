import { batchTargetRelation } from '../audiences/language/audience-language';
import { Prisma } from '../generated/prisma/client';

/** One profile audience of a batch statement: its predicate in batch form (see storedBatchPredicate). */
export interface BatchAudience {
  audienceId: string;
  version: number;
  /**
   * 0 for an audience that refers to no other of the statement; otherwise above every audience it
   * refers to, whose target sets its predicate reads from `target_<stage>` (see BatchTarget).
   */
  stage: number;
  predicate: Prisma.Sql;
}

/** Every profile audience of a workspace, over one batch of profiles. */
export interface BatchDiff {
  workspaceId: string;
  now: Date;
  profileIds: readonly string[];
  audiences: readonly BatchAudience[];
}

/**
 * A transition batch holds at most this many transitions: two messages each, one full /v1/batch
 * request of Segment's 2,500 messages.
 */
export const TRANSITIONS_PER_BATCH = 1_250;

/**
 * The columns every engine's delivery insert fills (deliveries, see profileDeliveries). A
 * statement that adds no transition batch gives `NULL::bigint[]` for the last.
 */
export const DELIVERY_COLUMNS = Prisma.sql`(id, workspace_id, destination_id, transition_id, recipient_id, transition_ids)`;

/**
 * A profile audience's deliveries, to the transition's profile: one per transition and connected
 * destination; for a `segment` destination without a rate limit, one transition batch per
 * TRANSITIONS_PER_BATCH of the statement's transitions instead (claimed, posted and recorded as
 * one row: a row per transition cost three times what the requests themselves do, bench:sync).
 * A rate-limited destination keeps a row per transition, which its limiter spaces out.
 *
 * `connected` reads the connections of the transitions' audiences once, with what decides between
 * the two kinds of row: joined to the destinations per transition instead, the planner probed the
 * destination of each of 10,000 transitions to write 8 rows. A destination's batch transitions are
 * gathered into one sorted array and sliced, one sort where chunk numbers took two.
 */
export const profileDeliveries = Prisma.sql`
        WITH connected AS MATERIALIZED (
          SELECT ad.audience_id, ad.destination_id, ad.send, ad.connected_at,
                 dest.type = 'segment' AND dest.rate_limit_per_second IS NULL AS batched
          FROM audience_destinations ad JOIN destinations dest ON dest.id = ad.destination_id
          WHERE ad.audience_id IN (SELECT audience_id FROM transitions)
        ),
        due AS (
          SELECT t.id, t.workspace_id, c.destination_id, c.batched
          FROM transitions t JOIN connected c ON c.audience_id = t.audience_id
          WHERE (c.send = 'both' OR c.send::text = t.kind::text) AND t.at >= c.connected_at
        )
        SELECT gen_random_uuid(), workspace_id, destination_id, id, NULL::uuid, NULL::bigint[]
        FROM due WHERE NOT batched
        UNION ALL
        SELECT gen_random_uuid(), g.workspace_id, g.destination_id, NULL::bigint, NULL::uuid,
               g.ids[s : s + ${Prisma.raw(String(TRANSITIONS_PER_BATCH - 1))}]
        FROM (
          SELECT workspace_id, destination_id, array_agg(id ORDER BY id) AS ids
          FROM due WHERE batched GROUP BY workspace_id, destination_id
        ) g
        CROSS JOIN LATERAL generate_series(1, cardinality(g.ids), ${Prisma.raw(String(TRANSITIONS_PER_BATCH))}) s`;

/**
 * The diff of every profile audience of a workspace over one batch of profiles in one statement:
 * what applyDiff does for one audience, with the work every audience shares done once.
 *
 * - `batch`: the batch's live profiles, read once by primary key.
 * - `events`: the batch's events, read once by events(workspace_id, profile_id, …), one probe per
 *   profile (LATERAL … OFFSET 0: an index probe with the profile bound, whatever the statistics;
 *   without them `profile_id = ANY(500 ids)` is estimated to match most of the table). It shadows
 *   the table for every predicate, which are compiled in batch form (sets of profiles read from it,
 *   no probe per profile), so no condition can read the workspace's events of a name — what the
 *   per-audience statements did whenever the planner preferred the events(workspace_id, name, …)
 *   index: 60,000 index entries read for `first performed "Signed Up"` and 500 profiles.
 * - `current`: the batch's memberships in these audiences, one probe per profile of
 *   audience_members(profile_id) instead of one per profile and audience.
 * - `target_<n>`: the target sets of stage n. An audience that refers to another (`in audience`)
 *   is in a later stage and reads the other's target set from its stage: for a profile of the
 *   batch, that is exactly its membership once the statement has run, which audience_members would
 *   only show after the statement.
 *
 * Then, as in applyDiff: enter target − current, exit current − target, one ledger row per change
 * with its audience's version, one delivery per change and connected destination, member counts
 * moved by the difference.
 */
export function batchDiffStatement(diff: BatchDiff): Prisma.Sql {
  const { workspaceId, audiences } = diff;
  const profileIds = [...diff.profileIds];
  const audienceIds = audiences.map((audience) => audience.audienceId);
  const now = diff.now.toISOString();
  const stages = [...new Set(audiences.map((audience) => audience.stage))].sort((a, b) => a - b);
  if (stages.some((stage, i) => stage !== i))
    throw new Error(`batch stages must run 0, 1, …; got ${stages.join(', ')}`);
  const targets = Prisma.join(
    stages.map((stage) => {
      const queries = audiences
        .filter((audience) => audience.stage === stage)
        .map(
          (audience) =>
            Prisma.sql`SELECT ${audience.audienceId}::uuid AS audience_id, p.id AS profile_id FROM batch p WHERE (${audience.predicate})`,
        );
      return Prisma.sql`${batchTargetRelation(stage)} AS MATERIALIZED (
        ${Prisma.join(queries, '\n        UNION ALL\n        ')}
      ),`;
    }),
    '\n      ',
  );
  const target = Prisma.join(
    stages.map((stage) => Prisma.sql`SELECT audience_id, profile_id FROM ${batchTargetRelation(stage)}`),
    ' UNION ALL ',
  );
  return Prisma.sql`
      WITH ids AS MATERIALIZED (
        SELECT DISTINCT b.id FROM unnest(${profileIds}::uuid[]) AS b(id)
      ),
      batch AS MATERIALIZED (
        SELECT p.* FROM ids CROSS JOIN LATERAL (
          SELECT p.* FROM profiles p
          WHERE p.id = ids.id AND (p.workspace_id = ${workspaceId}::uuid AND p.merged_into_id IS NULL) IS TRUE
          OFFSET 0
        ) p
      ),
      events AS MATERIALIZED (
        SELECT e.workspace_id, e.profile_id, e.type, e.name, e.timestamp, e.properties
        FROM batch b CROSS JOIN LATERAL (
          SELECT e.workspace_id, e.profile_id, e.type, e.name, e.timestamp, e.properties FROM events e
          WHERE e.workspace_id = ${workspaceId}::uuid AND e.profile_id = b.id
          OFFSET 0
        ) e
      ),
      current AS MATERIALIZED (
        SELECT m.audience_id, m.profile_id FROM ids CROSS JOIN LATERAL (
          SELECT m.audience_id, m.profile_id FROM audience_members m
          WHERE m.profile_id = ids.id AND (m.audience_id = ANY(${audienceIds}::uuid[])) IS TRUE
          OFFSET 0
        ) m
      ),
      ${targets}
      target AS MATERIALIZED (
        ${target}
      ),
      entered AS (
        INSERT INTO audience_members (audience_id, profile_id, entered_at)
        SELECT d.audience_id, d.profile_id, ${now}::timestamptz
        FROM (SELECT audience_id, profile_id FROM target EXCEPT SELECT audience_id, profile_id FROM current) d
        ON CONFLICT (audience_id, profile_id) DO NOTHING
        RETURNING audience_id, profile_id
      ),
      exited AS (
        DELETE FROM audience_members m
        USING (SELECT audience_id, profile_id FROM current EXCEPT SELECT audience_id, profile_id FROM target) d
        WHERE m.audience_id = d.audience_id AND m.profile_id = d.profile_id
        RETURNING m.audience_id, m.profile_id
      ),
      versions AS (
        SELECT v.audience_id, v.version
        FROM unnest(${audienceIds}::uuid[], ${audiences.map((a) => a.version)}::int[]) AS v(audience_id, version)
      ),
      transitions AS (
        INSERT INTO audience_transitions (workspace_id, audience_id, profile_id, kind, at, audience_version)
        SELECT ${workspaceId}::uuid, c.audience_id, c.profile_id, c.kind, ${now}::timestamptz, v.version
        FROM (
          SELECT audience_id, profile_id, 'entered'::transition_kind AS kind FROM entered
          UNION ALL
          SELECT audience_id, profile_id, 'exited'::transition_kind AS kind FROM exited
        ) c JOIN versions v ON v.audience_id = c.audience_id
        RETURNING id, workspace_id, audience_id, profile_id, kind, at
      ),
      deliveries AS (
        INSERT INTO deliveries ${DELIVERY_COLUMNS}
        ${profileDeliveries}
        ON CONFLICT DO NOTHING
        RETURNING id, destination_id
      ),
      tally AS (
        SELECT audience_id,
               count(*) FILTER (WHERE kind = 'entered')::int AS entered,
               count(*) FILTER (WHERE kind = 'exited')::int AS exited
        FROM transitions GROUP BY audience_id
      ),
      counted AS (
        UPDATE audiences a SET member_count = greatest(0, a.member_count + t.entered - t.exited)
        FROM tally t WHERE a.id = t.audience_id
        RETURNING a.id
      )
      SELECT t.audience_id::text AS "audienceId", t.entered, t.exited, NULL::text AS id, NULL::text AS "destinationId"
      FROM tally t
      UNION ALL
      SELECT NULL, NULL, NULL, d.id::text, d.destination_id::text FROM deliveries d`;
}
