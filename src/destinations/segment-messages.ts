import type { ClaimedAccount, ClaimedDelivery, TraitChange } from './delivery.repository';

/**
 * Segment-spec messages (https://segment.com/docs/connections/spec/) describing what happened to a
 * profile, as Segment Engage sends them to event destinations: an audience transition is an
 * `identify` carrying the audience key as a boolean trait and a `track` named `Audience Entered`
 * or `Audience Exited`. Pure functions of the claimed delivery, so every attempt sends the same
 * messages with the same `messageId`s (a receiver deduplicating by messageId counts a retry once).
 *
 * Built from three primitives (identify, track, group) over a subject, so that later sync sources
 * are small additions: a computed trait's new value is one `identify` with that trait; an account
 * audience's transition a `group` with the key as a group trait plus its members' `identify`.
 */

export const LIBRARY = { name: 'personae', version: '0.1.0' } as const;

/** Who a message is about, as the receiver resolves people: userId, anonymousId, email. */
export interface MessageSubject {
  userId?: string;
  anonymousId: string | undefined;
  email?: string;
}

interface MessageBase {
  messageId: string;
  timestamp: string;
  userId?: string;
  anonymousId?: string;
  context: Record<string, unknown>;
}

export interface IdentifyMessage extends MessageBase {
  type: 'identify';
  traits: Record<string, unknown>;
}

export interface TrackMessage extends MessageBase {
  type: 'track';
  event: string;
  properties: Record<string, unknown>;
}

export interface GroupMessage extends MessageBase {
  type: 'group';
  groupId: string;
  traits: Record<string, unknown>;
}

export type SegmentMessage = IdentifyMessage | TrackMessage | GroupMessage;

/** What each message of one delivery is; with the delivery id, its messageId. */
export type MessageKind = 'identify' | 'track' | 'group';

/**
 * Deterministic per (destination, transition, kind of message): the delivery id is unique per
 * destination and transition and never changes across attempts.
 */
export function messageIdFor(deliveryId: string, kind: MessageKind): string {
  return `${deliveryId}-${kind}`;
}

function identity(delivery: ClaimedDelivery, type: string): string | undefined {
  return delivery.identities.find((i) => i.type === type)?.value;
}

/**
 * userId and anonymousId from the profile's identities. Segment requires one of the two: a profile
 * known only by its email gets its Personae profile id as anonymousId (stable, so the receiver
 * keeps one person), with the email trait to resolve it by.
 */
export function subjectOf(delivery: ClaimedDelivery): MessageSubject {
  const userId = identity(delivery, 'user_id');
  const anonymousId = identity(delivery, 'anonymous_id');
  return {
    ...(userId !== undefined && { userId }),
    anonymousId: anonymousId ?? (userId === undefined ? `personae-${delivery.profileId ?? delivery.id}` : undefined),
    ...(delivery.email && { email: delivery.email }),
  };
}

function base(subject: MessageSubject, messageId: string, at: Date, context: Record<string, unknown>): MessageBase {
  return {
    messageId,
    timestamp: at.toISOString(),
    ...(subject.userId !== undefined && { userId: subject.userId }),
    ...(subject.anonymousId !== undefined && { anonymousId: subject.anonymousId }),
    context: {
      library: LIBRARY,
      ...(subject.email !== undefined && { traits: { email: subject.email } }),
      ...context,
    },
  };
}

export function identify(
  subject: MessageSubject,
  traits: Record<string, unknown>,
  messageId: string,
  at: Date,
  context: Record<string, unknown> = {},
): IdentifyMessage {
  const withEmail = subject.email !== undefined ? { email: subject.email, ...traits } : traits;
  return { type: 'identify', ...base(subject, messageId, at, context), traits: withEmail };
}

export function track(
  subject: MessageSubject,
  event: string,
  properties: Record<string, unknown>,
  messageId: string,
  at: Date,
  context: Record<string, unknown> = {},
): TrackMessage {
  return { type: 'track', ...base(subject, messageId, at, context), event, properties };
}

export function group(
  subject: MessageSubject,
  groupId: string,
  traits: Record<string, unknown>,
  messageId: string,
  at: Date,
  context: Record<string, unknown> = {},
): GroupMessage {
  return { type: 'group', ...base(subject, messageId, at, context), groupId, traits };
}

/** Where a message came from, in Engage's words (`context.personas`). */
function audienceContext(delivery: ClaimedDelivery): Record<string, unknown> {
  return {
    personas: {
      computation_class: 'audience',
      computation_id: delivery.audienceId,
      computation_key: delivery.audienceKey,
      computation_name: delivery.audienceName,
      space_id: delivery.workspaceId,
      destination_id: delivery.destinationId,
      profile_id: delivery.profileId,
    },
  };
}

/** An audience transition: identify with `<key>: true|false`, then track Audience Entered|Exited. */
export function audienceMessages(delivery: ClaimedDelivery): SegmentMessage[] {
  const entered = delivery.kind === 'entered';
  const subject = subjectOf(delivery);
  const key = delivery.audienceKey;
  const context = audienceContext(delivery);
  return [
    identify(subject, { [key]: entered }, messageIdFor(delivery.id, 'identify'), delivery.at, context),
    track(
      subject,
      entered ? 'Audience Entered' : 'Audience Exited',
      { audience_key: key, [key]: entered },
      messageIdFor(delivery.id, 'track'),
      delivery.at,
      context,
    ),
  ];
}

/** A computed trait's change: one identify with `<trait key>: <new value>` (null once it has none). */
export function traitMessages(delivery: ClaimedDelivery, change: TraitChange): SegmentMessage[] {
  const context = {
    personas: {
      computation_class: 'trait',
      computation_id: change.traitId,
      computation_key: change.key,
      computation_name: change.name,
      space_id: delivery.workspaceId,
      destination_id: delivery.destinationId,
      profile_id: delivery.profileId,
    },
  };
  return [
    identify(
      subjectOf(delivery),
      { [change.key]: change.newValue ?? null },
      messageIdFor(delivery.id, 'identify'),
      delivery.at,
      context,
    ),
  ];
}

/**
 * An account audience's transition, for one member of the account: that member's identify (so the
 * receiver knows the person) and a group call tying them to the account, with the audience key as
 * a group trait (`true` on entering, `false` on leaving), as Engage sends account audiences.
 */
export function accountMessages(delivery: ClaimedDelivery, account: ClaimedAccount): SegmentMessage[] {
  const entered = delivery.kind === 'entered';
  const subject = subjectOf(delivery);
  const context = audienceContext(delivery);
  return [
    identify(subject, {}, messageIdFor(delivery.id, 'identify'), delivery.at, context),
    group(
      subject,
      account.groupId,
      { [delivery.audienceKey]: entered },
      messageIdFor(delivery.id, 'group'),
      delivery.at,
      context,
    ),
  ];
}

/** The messages of any delivery a segment destination sends. */
export function messagesFor(delivery: ClaimedDelivery): SegmentMessage[] {
  if (delivery.traitChange) return traitMessages(delivery, delivery.traitChange);
  if (delivery.account) return accountMessages(delivery, delivery.account);
  return audienceMessages(delivery);
}
