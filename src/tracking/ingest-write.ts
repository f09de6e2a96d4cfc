import { IdentitySubject } from '../identity/identifiers';
import { ResolutionPlan } from '../identity/identity-planner';
import { GroupRow, IngestWrite, MembershipRow, NewProfileRow, QuarantineRow } from './tracking.repository';
import { isJsonObject, NormalizedMessage } from './tracking-messages';

/** The identity-relevant part of a message: group traits describe the group, not the person. */
export function subjectOf(message: NormalizedMessage): IdentitySubject {
  const subject: IdentitySubject = {};
  if (message.userId !== null) subject.userId = message.userId;
  if (message.anonymousId !== null) subject.anonymousId = message.anonymousId;
  if (message.type === 'identify' && message.traits) subject.traits = message.traits;
  if (isJsonObject(message.context.traits)) subject.contextTraits = message.context.traits;
  if (message.previousId !== null) subject.previousId = message.previousId;
  return subject;
}

function byTime(a: { message: NormalizedMessage }, b: { message: NormalizedMessage }): number {
  return a.message.timestamp.getTime() - b.message.timestamp.getTime();
}

/**
 * `toISOString`, remembering the instants it formatted: the messages of a request share their
 * receivedAt and usually their sentAt, and a batch sent at once often shares timestamps too.
 */
function memoizedIso(): (date: Date) => string {
  const texts = new Map<number, string>();
  return (date) => {
    const time = date.getTime();
    let text = texts.get(time);
    if (text === undefined) {
      text = date.toISOString();
      texts.set(time, text);
    }
    return text;
  };
}

/** What the write does besides storing events. */
export interface IngestExtras {
  quarantine: QuarantineRow[];
  replayedQuarantineIds: string[];
  /** Outbox lane: `bulk` (historical imports) is evaluated after `live` traffic. Default live. */
  lane?: 'live' | 'bulk';
}

const NO_EXTRAS: IngestExtras = { quarantine: [], replayedQuarantineIds: [] };

/** Turns resolved messages into the rows of the one write statement. */
export function buildIngestWrite(
  workspaceId: string,
  sourceId: string,
  messages: NormalizedMessage[],
  plan: ResolutionPlan,
  extras: IngestExtras = NO_EXTRAS,
): IngestWrite {
  const resolved = messages.map((message, index) => {
    const profileId = plan.profileIds[index];
    if (profileId === undefined) throw new Error(`message ${index} was not resolved`);
    return { message, profileId };
  });
  const inTimeOrder = [...resolved].sort(byTime);
  const iso = memoizedIso();

  const newProfiles = new Map<string, NewProfileRow>();
  for (const { message, profileId } of inTimeOrder) {
    if (!plan.newProfileIds.has(profileId)) continue;
    const at = iso(message.timestamp);
    const row = newProfiles.get(profileId) ?? {
      id: profileId,
      traits: {},
      first_seen_at: at,
      last_seen_at: at,
      last_identified_at: null,
    };
    row.last_seen_at = at;
    if (message.type === 'identify' && message.traits) {
      Object.assign(row.traits, message.traits);
      // As the write counts it for a known profile: only an identify that carries a trait.
      if (Object.keys(message.traits).length > 0) row.last_identified_at = at;
    }
    newProfiles.set(profileId, row);
  }

  const groups = new Map<string, GroupRow>();
  const memberships = new Map<string, MembershipRow>();
  for (const { message, profileId } of inTimeOrder) {
    if (message.type !== 'group' || message.groupId === null) continue;
    // In time order: the first call seen is the earliest, the account's creation as far as this request knows.
    const group = groups.get(message.groupId) ?? {
      group_id: message.groupId,
      traits: {},
      created_at: iso(message.timestamp),
    };
    if (message.traits) Object.assign(group.traits, message.traits);
    groups.set(message.groupId, group);
    memberships.set(`${message.groupId}\u0000${profileId}`, { group_id: message.groupId, profile_id: profileId });
  }

  return {
    workspaceId,
    sourceId,
    events: resolved.map(({ message, profileId }) => ({
      profile_id: profileId,
      message_id: message.messageId,
      type: message.type,
      name: message.name,
      user_id: message.userId,
      anonymous_id: message.anonymousId,
      properties: message.json.properties,
      traits: message.json.traits,
      context: message.json.context,
      integrations: message.json.integrations,
      timestamp: iso(message.timestamp),
      original_timestamp: message.originalTimestamp ? iso(message.originalTimestamp) : null,
      sent_at: message.sentAt ? iso(message.sentAt) : null,
      received_at: iso(message.receivedAt),
    })),
    newProfiles: [...newProfiles.values()],
    newIdentities: plan.newIdentities.map((i) => ({ profile_id: i.profileId, type: i.type, value: i.value })),
    groups: [...groups.values()],
    memberships: [...memberships.values()],
    touchedProfileIds: [...new Set(plan.profileIds)],
    existingProfileIds: [...new Set(plan.profileIds)].filter((id) => !plan.newProfileIds.has(id)),
    quarantine: extras.quarantine,
    replayedQuarantineIds: extras.replayedQuarantineIds,
    ...(extras.lane && { lane: extras.lane }),
  };
}
