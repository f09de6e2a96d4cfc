import { Injectable } from '@nestjs/common';

import { Clock } from '../common/clock';
import { liveProfileFilter } from '../database/live-profile-filter';
import { postgresConstraint, postgresErrorCode } from '../database/postgres-errors';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import { IdentityConflictError } from '../identity/identity.errors';
import { PROFILES_PER_CHANGE } from '../membership/profile-changes.repository';
import { PrismaService } from '../prisma/prisma.service';
import { JsonObject } from './message-json';

/** A JSON value as JSON text. */
export type JsonText = string;

/** An event; its JSON columns arrive as text, serialized once when the message was checked. */
export interface EventRow {
  profile_id: string;
  message_id: string;
  type: string;
  name: string | null;
  user_id: string | null;
  anonymous_id: string | null;
  properties: JsonText;
  traits: JsonText | null;
  context: JsonText;
  integrations: JsonText | null;
  timestamp: string;
  original_timestamp: string | null;
  sent_at: string | null;
  received_at: string;
}

export interface NewProfileRow {
  id: string;
  traits: JsonObject;
  first_seen_at: string;
  last_seen_at: string;
  /** The newest identify with traits among the request's messages for this profile. */
  last_identified_at: string | null;
}

export interface NewIdentityRow {
  profile_id: string;
  type: string;
  value: string;
}

export interface GroupRow {
  group_id: string;
  traits: JsonObject;
  /** The earliest timestamp of the request's `group` calls for this group. */
  created_at: string;
}

export interface MembershipRow {
  group_id: string;
  profile_id: string;
}

/** A quarantined message; its JSON columns arrive as text. */
export interface QuarantineRow {
  kind: 'rejected' | 'warning';
  reason: string;
  type: string | null;
  message_id: string | null;
  fingerprint: string;
  message: JsonText;
  envelope: JsonText;
  errors: JsonText;
  warnings: JsonText;
  received_at: string;
}

/** Everything one request writes, as rows ready for set-based statements. */
export interface IngestWrite {
  workspaceId: string;
  sourceId: string;
  events: EventRow[];
  newProfiles: NewProfileRow[];
  newIdentities: NewIdentityRow[];
  groups: GroupRow[];
  memberships: MembershipRow[];
  /** Profiles the outbox (profile_changes) queues for evaluation, PROFILES_PER_CHANGE to a row. */
  touchedProfileIds: string[];
  /** Touched profiles that already existed: they must still be live when the write runs. */
  existingProfileIds: string[];
  /** Rejected messages, and warnings about events (kept only when their event is new). */
  quarantine: QuarantineRow[];
  /** Quarantine entries this write replays: deleted together with storing their events. */
  replayedQuarantineIds: string[];
  /** Outbox lane: `bulk` (historical imports) is evaluated after `live` traffic. Default live. */
  lane?: 'live' | 'bulk';
}

/** The write's guard divides by zero to abort the statement; nothing else in it divides. */
const GUARD_FAILED = '22012';
const UNIQUE_VIOLATION = '23505';
/** The index that keeps one event per messageId in a workspace (the first migration names it). */
const MESSAGE_ID_INDEX = 'events_workspace_id_message_id_key';
/** How long the writes of a source that repeated a messageId skip repeats from the start. */
const REPEATS_EXPECTED_MS = 60_000;

/**
 * How the write's event insert treats a messageId the workspace already has. `fail`: a plain
 * insert, aborted by the unique index (a statement that then wrote nothing). `skip`: ON CONFLICT
 * DO NOTHING, which costs Postgres a second probe of the index and a second WAL record for every
 * event, repeated or not: 0.3–0.4 ms more per 100 events, a fifth more than the plain insert.
 */
type RepeatHandling = 'fail' | 'skip';

@Injectable()
export class TrackingRepository {
  /** Sources that repeated a messageId lately, and until when (epoch ms) their writes skip repeats at once. */
  private readonly repeating = new Map<string, number>();

  constructor(
    private readonly prisma: PrismaService,
    private readonly clock: Clock,
  ) {}

  /**
   * Writes a whole request in ONE statement, whatever its number of events: new profiles and
   * identities, events (a repeated messageId is skipped), traits of existing profiles, groups and
   * memberships, and the outbox rows (one per PROFILES_PER_CHANGE touched profiles). An existing
   * profile's first/last seen is not updated here: evaluation applies its events' timestamps before
   * it reads the profile (profile-seen.ts); only a request that gives it traits updates the profile
   * row. Rows travel as JSON arrays expanded by jsonb_to_recordset
   * (events: jsonb_array_elements, see eventsJson).
   *
   * Traits: identify traits apply in event-time order; an identify older than the newest identify
   * the profile took (last_identified_at; last_seen_at for profiles from before it was kept) only
   * fills keys the profile lacks, so a late, out-of-order call never overwrites newer values. New
   * profiles get traits and first/last seen computed by the caller (a sibling statement cannot see
   * rows inserted in the same statement). Returns how many events were new.
   *
   * Guard: the existing profiles are locked (in id order) and must all still be live, and every
   * new identity must be inserted; otherwise a concurrent request won a race (merged or erased a
   * profile, created the same identity first) and the statement aborts with IdentityConflictError.
   * It runs on its own (autocommit, straight on the pool: the hot path) unless the caller passes a
   * transaction.
   */
  async writeIngest(write: IngestWrite, tx?: Tx): Promise<number> {
    // Repeated messageIds are rare (a client retrying a request whose answer it lost), so the
    // insert first assumes there are none. A failed statement would abort the caller's transaction,
    // and a source that just repeated one probably retries more: those skip repeats from the start.
    if (tx || this.expectsRepeats(write.sourceId)) return this.run(write, 'skip', tx);
    try {
      return await this.run(write, 'fail');
    } catch (error) {
      if (postgresErrorCode(error) !== UNIQUE_VIOLATION || postgresConstraint(error) !== MESSAGE_ID_INDEX) throw error;
      this.repeating.set(write.sourceId, this.clock.now().getTime() + REPEATS_EXPECTED_MS);
      return this.run(write, 'skip');
    }
  }

  private async run(write: IngestWrite, repeats: RepeatHandling, tx?: Tx): Promise<number> {
    const statement = ingestStatement(write, repeats);
    try {
      const [result] = tx
        ? await tx.$queryRaw<{ inserted: number }[]>(statement)
        : await this.prisma.query<{ inserted: number }>(statement, statementName(write, repeats));
      return result?.inserted ?? 0;
    } catch (error) {
      if (postgresErrorCode(error) === GUARD_FAILED) throw new IdentityConflictError('the write lost a race');
      throw error;
    }
  }

  private expectsRepeats(sourceId: string): boolean {
    const until = this.repeating.get(sourceId);
    if (until === undefined) return false;
    if (until > this.clock.now().getTime()) return true;
    this.repeating.delete(sourceId);
    return false;
  }

  /** Quarantines the messages of a request that stores no event (every message invalid, or strict). */
  async writeQuarantine(workspaceId: string, sourceId: string, rows: QuarantineRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.prisma.query(
      Prisma.sql`
        INSERT INTO quarantine (id, workspace_id, source_id, kind, reason, type, message_id, fingerprint, message,
                                envelope, errors, warnings, received_at, created_at)
        SELECT gen_random_uuid(), ${workspaceId}::uuid, ${sourceId}::uuid, q.kind, q.reason, q.type, q.message_id,
               q.fingerprint, COALESCE(q.message, 'null'::jsonb), q.envelope, q.errors, q.warnings, q.received_at, now()
        FROM jsonb_to_recordset(${quarantineJson(rows)}::jsonb) AS ${QUARANTINE_RECORD}
        ORDER BY q.fingerprint
        ON CONFLICT (workspace_id, fingerprint) DO NOTHING`,
      'tracking_write_quarantine',
    );
  }
}

/** A prepared statement's text must never vary: each variant of the ingest statement has its own name. */
function statementName(write: IngestWrite, repeats: RepeatHandling): string {
  const quarantine = write.quarantine.length > 0 ? '_quarantine' : '';
  const replay = write.replayedQuarantineIds.length > 0 ? '_replay' : '';
  const skip = repeats === 'skip' ? '_skip_repeats' : '';
  return `tracking_write_ingest${quarantine}${replay}${skip}`;
}

const QUARANTINE_RECORD = Prisma.sql`q(kind text, reason text, type text, message_id text, fingerprint text,
  message jsonb, envelope jsonb, errors jsonb, warnings jsonb, received_at timestamptz)`;

/** The quarantine rows as a JSON array; their JSON columns are spliced in as they are. */
function quarantineJson(rows: QuarantineRow[]): string {
  const q = JSON.stringify;
  const items = rows.map(
    (r) =>
      `{"kind":${q(r.kind)},"reason":${q(r.reason)},"type":${q(r.type)},"message_id":${q(r.message_id)},` +
      `"fingerprint":${q(r.fingerprint)},"message":${r.message},"envelope":${r.envelope},"errors":${r.errors},` +
      `"warnings":${r.warnings},"received_at":${q(r.received_at)}}`,
  );
  return `[${items.join(',')}]`;
}

/**
 * Quarantine rows and replayed entries, in the same statement as the events: an accepted request
 * means its events and its quarantine rows are committed together. A warning is kept only when its
 * event is new (a repeated messageId changes nothing). Absent from the statement of a request that
 * has none, so the all-valid path runs the statement it always ran.
 */
function quarantineSteps(write: IngestWrite): Prisma.Sql {
  const ws = write.workspaceId;
  const steps: Prisma.Sql[] = [];
  if (write.quarantine.length > 0) {
    steps.push(Prisma.sql`,
      quarantined AS (
        INSERT INTO quarantine (id, workspace_id, source_id, kind, reason, type, message_id, fingerprint, message,
                                envelope, errors, warnings, received_at, created_at)
        SELECT gen_random_uuid(), ${ws}::uuid, ${write.sourceId}::uuid, q.kind, q.reason, q.type, q.message_id,
               q.fingerprint, COALESCE(q.message, 'null'::jsonb), q.envelope, q.errors, q.warnings, q.received_at, now()
        FROM jsonb_to_recordset(${quarantineJson(write.quarantine)}::jsonb) AS ${QUARANTINE_RECORD}
        WHERE q.kind = 'rejected' OR q.message_id IN (SELECT message_id FROM inserted)
        ORDER BY q.fingerprint
        ON CONFLICT (workspace_id, fingerprint) DO NOTHING
        RETURNING 1
      )`);
  }
  if (write.replayedQuarantineIds.length > 0) {
    steps.push(Prisma.sql`,
      replayed AS (
        DELETE FROM quarantine WHERE workspace_id = ${ws}::uuid AND id = ANY(${write.replayedQuarantineIds}::uuid[])
        RETURNING 1
      )`);
  }
  return steps.length > 0 ? Prisma.join(steps, '') : Prisma.empty;
}

/**
 * The events as a JSON array of arrays, one per event, its values in EVENT_FIELDS order (the JSON
 * columns spliced in as they are). Positions instead of keys: a quarter fewer bytes to build, send
 * and parse than objects naming every field (bench:ingest).
 */
function eventsJson(events: EventRow[]): string {
  const q = JSON.stringify;
  // Ids, types and ISO timestamps need no escaping: quoted as they are, not through JSON.stringify.
  const plain = (text: string | null) => (text === null ? 'null' : `"${text}"`);
  const rows = events.map(
    (e) =>
      `["${e.profile_id}",${q(e.message_id)},"${e.type}",${q(e.name)},${q(e.user_id)},${q(e.anonymous_id)},` +
      `${e.properties},${e.traits ?? 'null'},${e.context},${e.integrations ?? 'null'},"${e.timestamp}",` +
      `${plain(e.original_timestamp)},${plain(e.sent_at)},"${e.received_at}"]`,
  );
  return `[${rows.join(',')}]`;
}

/**
 * The event columns read from an eventsJson row `r`, in its order. A JSON null is SQL NULL, as
 * jsonb_to_recordset would give it.
 */
const EVENT_FIELDS = Prisma.sql`(r->>0)::uuid AS profile_id, r->>1 AS message_id, r->>2 AS type, r->>3 AS name,
  r->>4 AS user_id, r->>5 AS anonymous_id, NULLIF(r->6, 'null') AS properties, NULLIF(r->7, 'null') AS traits,
  NULLIF(r->8, 'null') AS context, NULLIF(r->9, 'null') AS integrations, (r->>10)::timestamptz AS timestamp,
  (r->>11)::timestamptz AS original_timestamp, (r->>12)::timestamptz AS sent_at, (r->>13)::timestamptz AS received_at`;

function ingestStatement(write: IngestWrite, repeats: RepeatHandling): Prisma.Sql {
  const ws = write.workspaceId;
  return Prisma.sql`
      WITH locked AS (
        -- In id order, one index probe per profile whatever the plan's age: prepared while the table
        -- was young, "id = ANY(…)" kept a plan that scanned every profile for each request (7 ms
        -- per request at 22,000 profiles). The locking clause keeps the subquery from being
        -- flattened into such a scan. Read from the row as locked: a concurrent identify that
        -- committed first is seen here.
        SELECT p.id, p.identified_before
        FROM (SELECT id FROM unnest(${write.existingProfileIds}::uuid[]) AS u(id) ORDER BY id) AS k
        CROSS JOIN LATERAL (
          SELECT id, COALESCE(last_identified_at, last_seen_at) AS identified_before FROM profiles
          WHERE id = k.id AND ${liveProfileFilter(ws)}
          FOR NO KEY UPDATE
        ) AS p
      ),
      new_profiles AS (
        INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at, last_identified_at, created_at, updated_at)
        SELECT n.id, ${ws}::uuid, n.traits, n.first_seen_at, n.last_seen_at, n.last_identified_at, now(), now()
        FROM jsonb_to_recordset(${JSON.stringify(write.newProfiles)}::jsonb)
          AS n(id uuid, traits jsonb, first_seen_at timestamptz, last_seen_at timestamptz, last_identified_at timestamptz)
        RETURNING 1
      ),
      new_identities AS (
        INSERT INTO identities (id, workspace_id, profile_id, type, value, created_at)
        SELECT gen_random_uuid(), ${ws}::uuid, n.profile_id, n.type, n.value, now()
        FROM jsonb_to_recordset(${JSON.stringify(write.newIdentities)}::jsonb) AS n(profile_id uuid, type text, value text)
        ORDER BY n.type, n.value
        ON CONFLICT (workspace_id, type, value) DO NOTHING
        RETURNING 1
      ),
      inserted AS (
        INSERT INTO events (workspace_id, profile_id, source_id, message_id, type, name, user_id, anonymous_id,
                            properties, traits, context, integrations, timestamp, original_timestamp, sent_at, received_at)
        SELECT ${ws}::uuid, e.profile_id, ${write.sourceId}::uuid, e.message_id, e.type, e.name, e.user_id, e.anonymous_id,
               COALESCE(e.properties, '{}'::jsonb), e.traits, COALESCE(e.context, '{}'::jsonb), e.integrations,
               e.timestamp, e.original_timestamp, e.sent_at, e.received_at
        FROM (SELECT ${EVENT_FIELDS} FROM jsonb_array_elements(${eventsJson(write.events)}::jsonb) AS r) AS e
        -- In messageId order, so that two requests repeating each other's messageIds wait for each
        -- other in the same order instead of deadlocking.
        ORDER BY e.message_id
        ${repeats === 'skip' ? Prisma.sql`ON CONFLICT (workspace_id, message_id) DO NOTHING` : Prisma.empty}
        RETURNING profile_id, message_id, type, traits, timestamp
      ),
      -- MATERIALIZED: computed once; inlined, the planner (expecting one locked row) re-ran the
      -- aggregate for every locked profile.
      trait_updates AS MATERIALIZED (
        SELECT i.profile_id,
               jsonb_object_agg(t.key, t.value ORDER BY i.timestamp) FILTER (WHERE i.timestamp < p.identified_before) AS older,
               jsonb_object_agg(t.key, t.value ORDER BY i.timestamp) FILTER (WHERE i.timestamp >= p.identified_before) AS newer,
               max(i.timestamp) AS identified_at
        FROM inserted i
        JOIN locked p ON p.id = i.profile_id
        CROSS JOIN LATERAL jsonb_each(i.traits) AS t
        WHERE i.type = 'identify' AND jsonb_typeof(i.traits) = 'object'
        GROUP BY i.profile_id
      ),
      -- Only traits: a known profile's first/last seen are read from its events until evaluation applies them (profile-seen.ts).
      updated AS (
        UPDATE profiles p SET
          traits = (COALESCE(u.older, '{}'::jsonb) || p.traits) || COALESCE(u.newer, '{}'::jsonb),
          last_identified_at = GREATEST(COALESCE(p.last_identified_at, p.last_seen_at), u.identified_at),
          updated_at = now()
        FROM trait_updates u
        WHERE p.id = u.profile_id
        RETURNING 1
      ),
      upserted_groups AS (
        INSERT INTO groups (id, workspace_id, group_id, traits, created_at, updated_at)
        SELECT gen_random_uuid(), ${ws}::uuid, g.group_id, COALESCE(g.traits, '{}'::jsonb), g.created_at, now()
        FROM jsonb_to_recordset(${JSON.stringify(write.groups)}::jsonb) AS g(group_id text, traits jsonb, created_at timestamptz)
        ORDER BY g.group_id
        -- created_at: the account's first group call, whatever order the calls arrive in.
        ON CONFLICT (workspace_id, group_id) DO UPDATE SET traits = groups.traits || excluded.traits,
          created_at = LEAST(groups.created_at, excluded.created_at), updated_at = now()
        RETURNING id, group_id
      ),
      memberships AS (
        INSERT INTO group_memberships (group_id, profile_id, created_at)
        SELECT g.id, m.profile_id, now()
        FROM jsonb_to_recordset(${JSON.stringify(write.memberships)}::jsonb) AS m(group_id text, profile_id uuid)
        JOIN upserted_groups g ON g.group_id = m.group_id
        ON CONFLICT DO NOTHING
        RETURNING 1
      ),
      changes AS (
        INSERT INTO profile_changes (workspace_id, profile_ids, created_at, lane)
        SELECT ${ws}::uuid, array_agg(t.id ORDER BY t.n), now(), ${write.lane ?? 'live'}::change_lane
        FROM unnest(${write.touchedProfileIds}::uuid[]) WITH ORDINALITY AS t(id, n)
        GROUP BY (t.n - 1) / ${PROFILES_PER_CHANGE}::int
        RETURNING 1
      )${quarantineSteps(write)}
      SELECT (SELECT count(*) FROM inserted)::int AS inserted,
             1 / (CASE WHEN (SELECT count(*) FROM locked) = ${write.existingProfileIds.length}::int
                        AND (SELECT count(*) FROM new_identities) = ${write.newIdentities.length}::int
                       THEN 1 ELSE 0 END) AS guard`;
}
