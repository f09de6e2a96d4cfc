import type { ClaimedDelivery, TraitChange } from './delivery.repository';

/** A Segment-style `track` call, so a receiver that already speaks Segment can take it as is. */
export interface WebhookPayload {
  type: 'track';
  event: 'Audience Entered' | 'Audience Exited' | 'Journey Message';
  userId: string | null;
  anonymousId: string | null;
  /** The delivery id: the same on every attempt, the receiver's idempotency key. */
  messageId: string;
  /** When the profile entered or left the audience. */
  timestamp: string;
  properties: Record<string, unknown>;
  context: {
    library: { name: 'personae'; version: string };
    traits: Record<string, unknown>;
    /** The profile's computed trait values by key. */
    computed: Record<string, unknown>;
    personas: {
      computation_class: 'audience' | 'journey';
      computation_id: string;
      computation_key: string;
      computation_name: string;
      space_id: string;
      destination_id: string;
      profile_id: string | null;
    };
  };
}

function identity(delivery: ClaimedDelivery, type: string): string | null {
  return delivery.identities.find((i) => i.type === type)?.value ?? null;
}

/**
 * A computed trait's change: a Segment-style `identify` with the new value as a trait, and the
 * change itself (old and new value) for receivers that act on transitions of a value.
 */
export interface TraitWebhookPayload {
  type: 'identify';
  userId: string | null;
  anonymousId: string | null;
  /** The delivery id: the same on every attempt, the receiver's idempotency key. */
  messageId: string;
  /** When the value changed. */
  timestamp: string;
  traits: Record<string, unknown>;
  change: { trait_key: string; old_value: unknown; new_value: unknown };
  context: {
    library: { name: 'personae'; version: string };
    traits: Record<string, unknown>;
    personas: {
      computation_class: 'trait';
      computation_id: string;
      computation_key: string;
      computation_name: string;
      space_id: string;
      destination_id: string;
      profile_id: string | null;
    };
  };
}

export function webhookPayload(delivery: ClaimedDelivery): WebhookPayload | TraitWebhookPayload {
  if (delivery.traitChange) return traitPayload(delivery, delivery.traitChange);
  if (delivery.journey) return journeyPayload(delivery, delivery.journey);
  const entered = delivery.kind === 'entered';
  const traits: Record<string, unknown> = { ...(delivery.traits ?? {}) };
  if (delivery.email && traits.email === undefined) traits.email = delivery.email;
  return {
    type: 'track',
    event: entered ? 'Audience Entered' : 'Audience Exited',
    userId: identity(delivery, 'user_id'),
    anonymousId: identity(delivery, 'anonymous_id'),
    messageId: delivery.id,
    timestamp: delivery.at.toISOString(),
    properties: { audience_key: delivery.audienceKey, [delivery.audienceKey]: entered },
    context: {
      library: { name: 'personae', version: '0.1.0' },
      traits,
      computed: delivery.computed ?? {},
      personas: {
        computation_class: 'audience',
        computation_id: delivery.audienceId,
        computation_key: delivery.audienceKey,
        computation_name: delivery.audienceName,
        space_id: delivery.workspaceId,
        destination_id: delivery.destinationId,
        profile_id: delivery.profileId,
      },
    },
  };
}

/** A journey's send step to a webhook: the journey, step and variant, and the event that started the run. */
function journeyPayload(delivery: ClaimedDelivery, journey: NonNullable<ClaimedDelivery['journey']>): WebhookPayload {
  const traits: Record<string, unknown> = { ...(delivery.traits ?? {}) };
  if (delivery.email && traits.email === undefined) traits.email = delivery.email;
  return {
    type: 'track',
    event: 'Journey Message',
    userId: identity(delivery, 'user_id'),
    anonymousId: identity(delivery, 'anonymous_id'),
    messageId: delivery.id,
    timestamp: delivery.at.toISOString(),
    properties: {
      journey_key: journey.key,
      journey_version: journey.version,
      step: journey.step,
      variant: journey.variant,
      entry_event: journey.entryEvent,
    },
    context: {
      library: { name: 'personae', version: '0.1.0' },
      traits,
      computed: delivery.computed,
      personas: {
        computation_class: 'journey',
        computation_id: journey.id,
        computation_key: journey.key,
        computation_name: journey.name,
        space_id: delivery.workspaceId,
        destination_id: delivery.destinationId,
        profile_id: delivery.profileId,
      },
    },
  };
}

function traitPayload(delivery: ClaimedDelivery, change: TraitChange): TraitWebhookPayload {
  const newValue = change.newValue ?? null;
  return {
    type: 'identify',
    userId: identity(delivery, 'user_id'),
    anonymousId: identity(delivery, 'anonymous_id'),
    messageId: delivery.id,
    timestamp: delivery.at.toISOString(),
    traits: { ...(delivery.email && { email: delivery.email }), [change.key]: newValue },
    change: { trait_key: change.key, old_value: change.oldValue ?? null, new_value: newValue },
    context: {
      library: { name: 'personae', version: '0.1.0' },
      traits: { ...(delivery.email && { email: delivery.email }) },
      personas: {
        computation_class: 'trait',
        computation_id: change.traitId,
        computation_key: change.key,
        computation_name: change.name,
        space_id: delivery.workspaceId,
        destination_id: delivery.destinationId,
        profile_id: delivery.profileId,
      },
    },
  };
}
