/**
 * Rows exactly as they are written: one field per column, timestamps as ISO-8601 UTC strings with
 * milliseconds (they sort as text and match TIMESTAMPTZ(3)), JSON columns as serialized JSON text.
 * Keeping them pre-serialized is what makes "same seed, byte-identical rows" checkable and cheap.
 */

export interface WorkspaceRow {
  id: string;
  name: string;
  settings: string;
  createdAt: string;
}

export interface SourceRow {
  id: string;
  workspaceId: string;
  name: string;
  writeKey: string;
  createdAt: string;
}

export interface ProfileRow {
  id: string;
  workspaceId: string;
  traits: string;
  firstSeenAt: string;
  lastSeenAt: string;
  createdAt: string;
  updatedAt: string;
}

export type IdentityType = 'anonymous_id' | 'user_id' | 'email';

export interface IdentityRow {
  id: string;
  workspaceId: string;
  profileId: string;
  type: IdentityType;
  value: string;
  createdAt: string;
}

export type EventType = 'track' | 'page' | 'identify';

export interface EventRow {
  workspaceId: string;
  profileId: string;
  sourceId: string;
  messageId: string;
  type: EventType;
  name: string | null;
  userId: string | null;
  anonymousId: string;
  properties: string;
  traits: string | null;
  context: string;
  timestamp: string;
  originalTimestamp: string;
  sentAt: string;
  receivedAt: string;
}

/** Everything one person contributes to the dataset; the unit the generator streams. */
export interface ProfileJourney {
  profile: ProfileRow;
  identities: IdentityRow[];
  events: EventRow[];
}
