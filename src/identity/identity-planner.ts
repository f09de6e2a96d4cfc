import { randomUUID } from 'node:crypto';

import { ANONYMOUS_ID, Identifier, identifierKey, lookupCandidates, SubjectIdentifiers, USER_ID } from './identifiers';
import { IdentitySettings } from './identity-settings';

/** A profile that owns at least one identifier of the batch. */
export interface KnownProfile {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  mergeCount: number;
  /** Its identities of the types that have a limit. */
  limited: Identifier[];
}

export interface KnownIdentity extends Identifier {
  profileId: string;
}

export interface PlannedMessage {
  identity: SubjectIdentifiers;
  timestamp: Date;
}

/** Existing profiles to merge in the database: every loser into the survivor. */
export interface MergePlan {
  survivorId: string;
  loserIds: string[];
  /** The identifiers of the message that caused the merge (kept in the merge log). */
  identifiers: Identifier[];
}

export interface NewIdentity extends Identifier {
  profileId: string;
}

export interface ResolutionPlan {
  /** The profile of every message, in message order, after all merges. */
  profileIds: string[];
  /** Profiles the batch creates (ids generated here). */
  newProfileIds: Set<string>;
  /** Identities to insert, pointing at their final profile. */
  newIdentities: NewIdentity[];
  /** Merges of existing profiles, in the order they must be applied. */
  merges: MergePlan[];
  /** Merges refused by a limit or the merge cap. */
  refusedMerges: number;
  /**
   * Existing profiles whose state the plan relies on beyond "still exists": merge participants and
   * profiles gaining an identity of a limited type. They must be locked and re-checked first.
   */
  guardedProfileIds: Set<string>;
}

interface ProfileNode {
  id: string;
  isNew: boolean;
  /** False for an existing profile whose details (age, limited identities, …) were not read. */
  detailed: boolean;
  /** Age order: the oldest profile survives a merge. */
  rank: number;
  lastSeen: number;
  mergeCount: number;
  /** Values held of each limited type. */
  values: Map<string, Set<string>>;
  mergedInto?: string;
}

/** Ranks of profiles created in the batch come after every real creation time. */
const NEW_RANK_BASE = 9e15;

/**
 * The existing profiles whose details the plan may consult: every owner of a message that could
 * merge profiles or give one a new identifier (its identifiers have several owners, or one nobody
 * owns yet, or it is an alias). A message whose identifiers all belong to one profile only points
 * at it, which is what nearly every message of a known person does, so its details need no read.
 */
export function profilesNeedingDetails(messages: PlannedMessage[], known: KnownIdentity[]): string[] {
  const owners = new Map(known.map((identity) => [identifierKey(identity), identity.profileId]));
  const needed = new Set<string>();
  for (const { identity } of messages) {
    // A message has a handful of identifiers: an array is cheaper than a Set per message.
    const owning: string[] = [];
    for (const candidate of lookupCandidates(identity)) {
      const owner = owners.get(identifierKey(candidate));
      if (owner !== undefined && !owning.includes(owner)) owning.push(owner);
    }
    const unowned = identity.identifiers.some((i) => !owners.has(identifierKey(i)));
    if (owning.length > 1 || unowned || identity.previousId !== undefined) for (const id of owning) needed.add(id);
  }
  return [...needed];
}

/**
 * Resolves the messages of a batch, in order, to profiles: the pure half of identity resolution.
 * It sees the existing identities the batch's identifiers match (with the details of at least the
 * profiles `profilesNeedingDetails` names), and decides which profiles to
 * create, which identities to add, and which merges to perform, applying Segment-style merge
 * protection (per-type limits, merge cap). The database half applies the plan.
 */
export function planResolution(
  messages: PlannedMessage[],
  known: KnownIdentity[],
  profiles: KnownProfile[],
  settings: IdentitySettings,
  newId: () => string = randomUUID,
): ResolutionPlan {
  return new ResolutionPlanner(known, profiles, settings, newId).plan(messages);
}

class ResolutionPlanner {
  private readonly nodes = new Map<string, ProfileNode>();
  private readonly owners = new Map<string, string>();
  private readonly added = new Map<string, Identifier>();
  private readonly merges: MergePlan[] = [];
  private refusedMerges = 0;
  private created = 0;
  private readonly guarded = new Set<string>();

  constructor(
    known: KnownIdentity[],
    profiles: KnownProfile[],
    private readonly settings: IdentitySettings,
    private readonly newId: () => string,
  ) {
    for (const profile of profiles) {
      const node: ProfileNode = {
        id: profile.id,
        isNew: false,
        detailed: true,
        rank: profile.createdAt.getTime(),
        lastSeen: profile.lastSeenAt.getTime(),
        mergeCount: profile.mergeCount,
        values: new Map(),
      };
      for (const identifier of profile.limited) this.holdValue(node, identifier);
      this.nodes.set(profile.id, node);
    }
    for (const identity of known) {
      if (!this.nodes.has(identity.profileId)) this.nodes.set(identity.profileId, undetailedNode(identity.profileId));
      this.owners.set(identifierKey(identity), identity.profileId);
    }
  }

  plan(messages: PlannedMessage[]): ResolutionPlan {
    const assigned = messages.map((message) => this.resolve(message));
    return {
      profileIds: assigned.map((id) => this.find(id)),
      newProfileIds: new Set([...this.nodes.values()].filter((n) => n.isNew && !n.mergedInto).map((n) => n.id)),
      newIdentities: [...this.added].map(([key, identifier]) => ({
        ...identifier,
        profileId: this.find(this.owners.get(key) ?? ''),
      })),
      merges: this.merges,
      refusedMerges: this.refusedMerges,
      guardedProfileIds: this.guarded,
    };
  }

  private resolve(message: PlannedMessage): string {
    const identifiers = this.withPreviousId(message.identity);
    const owners = this.ownersOf(identifiers);
    const unowned = identifiers.filter((i) => !this.owners.has(identifierKey(i)));
    if (owners.length > 1 || unowned.length > 0) {
      const blind = owners.find((owner) => !owner.detailed);
      if (blind) throw new Error(`identity planner: the details of profile ${blind.id} were not read`);
    }

    let target: ProfileNode;
    const [only] = owners;
    if (only === undefined) {
      target = this.createNode();
    } else if (!this.exceedsLimits(owners, unowned) && !this.exceedsMergeCap(owners)) {
      target = owners.length > 1 ? this.merge(owners, identifiers) : only;
    } else {
      if (owners.length > 1) this.refusedMerges += 1;
      target = this.bestMatch(owners, identifiers);
    }
    this.attachFitting(target, unowned);
    target.lastSeen = Math.max(target.lastSeen, message.timestamp.getTime());
    return target.id;
  }

  /** An alias's previousId is the user_id it names if one exists, else an anonymous_id. */
  private withPreviousId(subject: SubjectIdentifiers): Identifier[] {
    if (subject.previousId === undefined) return subject.identifiers;
    const asUser = { type: USER_ID, value: subject.previousId };
    const previous = this.owners.has(identifierKey(asUser))
      ? asUser
      : { type: ANONYMOUS_ID, value: subject.previousId };
    const duplicate = subject.identifiers.some((i) => i.type === previous.type && i.value === previous.value);
    return duplicate ? subject.identifiers : [...subject.identifiers, previous];
  }

  private ownersOf(identifiers: Identifier[]): ProfileNode[] {
    const found = new Map<string, ProfileNode>();
    for (const identifier of identifiers) {
      const owner = this.owners.get(identifierKey(identifier));
      if (owner !== undefined) {
        const node = this.node(this.find(owner));
        found.set(node.id, node);
      }
    }
    return [...found.values()].sort((a, b) => a.rank - b.rank || a.id.localeCompare(b.id));
  }

  private exceedsLimits(owners: ProfileNode[], unowned: Identifier[]): boolean {
    return Object.entries(this.settings.limits).some(([type, limit]) => {
      const values = new Set<string>();
      for (const owner of owners) for (const value of owner.values.get(type) ?? []) values.add(value);
      for (const identifier of unowned) if (identifier.type === type) values.add(identifier.value);
      return values.size > limit;
    });
  }

  private exceedsMergeCap(owners: ProfileNode[]): boolean {
    const [survivor, ...losers] = owners;
    if (!survivor || losers.length === 0) return false;
    const absorbed = losers.filter((l) => !l.isNew).reduce((sum, l) => sum + l.mergeCount + 1, 0);
    return absorbed > 0 && survivor.mergeCount + absorbed > this.settings.maxMergesPerProfile;
  }

  /** Owners arrive oldest first; the oldest survives. Profiles born in this batch fold in memory. */
  private merge(owners: ProfileNode[], identifiers: Identifier[]): ProfileNode {
    const [survivor, ...losers] = owners;
    if (!survivor) throw new Error('merge needs at least one profile');
    const persisted: string[] = [];
    if (!survivor.isNew) this.guarded.add(survivor.id);
    for (const loser of losers) {
      loser.mergedInto = survivor.id;
      survivor.lastSeen = Math.max(survivor.lastSeen, loser.lastSeen);
      for (const [type, values] of loser.values) for (const value of values) this.holdValue(survivor, { type, value });
      if (!loser.isNew) {
        survivor.mergeCount += loser.mergeCount + 1;
        persisted.push(loser.id);
        this.guarded.add(loser.id);
      }
    }
    if (persisted.length > 0) this.merges.push({ survivorId: survivor.id, loserIds: persisted, identifiers });
    return survivor;
  }

  /**
   * Where a message goes when its profiles may not merge: the profile owning its user_id; a new
   * profile when its user_id is new (a different user on a shared device); else the most recently
   * seen of its profiles.
   */
  private bestMatch(owners: ProfileNode[], identifiers: Identifier[]): ProfileNode {
    const userId = identifiers.find((i) => i.type === USER_ID);
    if (userId) {
      const owner = this.owners.get(identifierKey(userId));
      return owner === undefined ? this.createNode() : this.node(this.find(owner));
    }
    return owners.reduce((best, node) => (node.lastSeen > best.lastSeen ? node : best));
  }

  /** Adds identifiers nobody owns to the profile, skipping any that would break a limit. */
  private attachFitting(target: ProfileNode, unowned: Identifier[]): void {
    for (const identifier of unowned) {
      const key = identifierKey(identifier);
      if (this.owners.has(key)) continue;
      const limit = this.settings.limits[identifier.type];
      if (limit !== undefined && (target.values.get(identifier.type)?.size ?? 0) >= limit) continue;
      this.owners.set(key, target.id);
      this.added.set(key, identifier);
      this.holdValue(target, identifier);
      if (limit !== undefined && !target.isNew) this.guarded.add(target.id);
    }
  }

  private holdValue(node: ProfileNode, identifier: Identifier): void {
    if (this.settings.limits[identifier.type] === undefined) return;
    const values = node.values.get(identifier.type) ?? new Set<string>();
    values.add(identifier.value);
    node.values.set(identifier.type, values);
  }

  private createNode(): ProfileNode {
    this.created += 1;
    const node: ProfileNode = {
      id: this.newId(),
      isNew: true,
      detailed: true,
      rank: NEW_RANK_BASE + this.created,
      lastSeen: 0,
      mergeCount: 0,
      values: new Map(),
    };
    this.nodes.set(node.id, node);
    return node;
  }

  private node(id: string): ProfileNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`unknown profile ${id}`);
    return node;
  }

  private find(id: string): string {
    let current = this.node(id);
    while (current.mergedInto !== undefined) current = this.node(current.mergedInto);
    return current.id;
  }
}

/** An existing profile known only by id: enough for messages that merely point at it. */
function undetailedNode(id: string): ProfileNode {
  return { id, isNew: false, detailed: false, rank: 0, lastSeen: 0, mergeCount: 0, values: new Map() };
}
