import {
  CHANNELS,
  COMPANIES,
  DEVICES,
  FIRST_NAMES,
  FREE_PLAN,
  LAST_NAMES,
  LIBRARY,
  LOCALES,
  PERSONAL_EMAIL_DOMAINS,
} from './catalog';
import { isoTimestamp } from './iso-time';
import { LAST_SESSION_MARGIN_MS, MIN_EVENTS_SIGNED_UP, type Population } from './population';
import { Random } from './random';
import type { EventRow, IdentityRow, ProfileJourney } from './rows';
import { type JsonObject, type Persona, type Session, type Step, story } from './story';

/**
 * Turns one planned person into rows: draws who they are, takes exactly `budget` steps of their
 * story, lays the steps on a clock between their planned first and last visit, and renders the
 * Segment-shaped event rows. Everything comes from a stream keyed by (seed, workspace name, profile index).
 */

const JOURNEY_STREAM = 0x6a726e79;
const MINUTE = 60_000;

export interface JourneyScope {
  seed: number;
  /** Profile and identity ids are primary keys: two workspaces loaded with one seed must not share them. */
  workspaceKey: number;
  workspaceId: string;
  sourceId: string;
  population: Population;
}

/** A bijection on 32-bit indexes, so user ids look arbitrary yet can never collide. */
function userIdFor(index: number, seed: number): string {
  const scrambled = (Math.imul(index, 0x9e3779b1) + Math.imul(seed | 0, 0x85ebca6b)) >>> 0;
  return `usr_${scrambled.toString(36).padStart(7, '0')}`;
}

interface Person {
  persona: Persona;
  email: string | null;
  network: Network;
}

interface Network {
  locale: string;
  timezone: string;
  ip: string;
}

function drawPerson(random: Random, index: number, signsUp: boolean, budget: number): Person {
  const device = DEVICES.pick(random);
  const locale = LOCALES.pick(random);
  const acquisition = CHANNELS.pick(random);
  const ip = `${random.int(23, 223)}.${random.int(0, 255)}.${random.int(0, 255)}.${random.int(1, 254)}`;
  const network = { locale: locale.locale, timezone: locale.timezone, ip };
  // Most people never shop; of those who do, some do so on nearly every visit.
  const shopping = random.chance(0.6) ? 0.02 : Math.min(0.6, random.exponential(0.2));
  const base = {
    device,
    acquisition,
    currency: locale.currency,
    shopping,
    browseBeforeSignup: Math.max(0, budget - MIN_EVENTS_SIGNED_UP),
  };
  if (!signsUp) return { persona: { ...base, signsUp, traits: {} }, email: null, network };

  const firstName = random.pick(FIRST_NAMES);
  const lastName = random.pick(LAST_NAMES);
  const company = random.chance(0.6) ? random.pick(COMPANIES) : null;
  const domain = company?.domain ?? random.pick(PERSONAL_EMAIL_DOMAINS);
  // The index suffix keeps emails unique however many people share a name.
  const email = `${firstName}.${lastName}.${index.toString(36)}@${domain}`.toLowerCase();
  const traits: JsonObject = {
    email,
    name: `${firstName} ${lastName}`,
    first_name: firstName,
    last_name: lastName,
    company: company?.name ?? null,
    plan: FREE_PLAN,
  };
  return { persona: { ...base, signsUp, traits }, email, network };
}

function contextJson(session: Session, network: Network): string {
  const context: JsonObject = {
    library: { ...LIBRARY },
    ip: network.ip,
    locale: network.locale,
    timezone: network.timezone,
    userAgent: session.device.userAgent,
    os: { name: session.device.os },
    device: { type: session.device.type },
  };
  if (session.channel.campaign !== null) context.campaign = { ...session.channel.campaign };
  return JSON.stringify(context);
}

/**
 * Session start times: the first at the planned first visit, the last at the planned last visit,
 * the rest spread with exponential gaps (bursty, like real return visits) and at least a few
 * minutes apart.
 */
function sessionStarts(random: Random, sessions: number, first: number, last: number): Float64Array {
  const starts = new Float64Array(sessions);
  starts[0] = first;
  if (sessions === 1) return starts;
  const span = Math.max(0, last - first);
  const minGap = Math.min(20 * MINUTE, span / (2 * (sessions - 1)));
  const free = span - (sessions - 1) * minGap;
  const gaps = new Float64Array(sessions - 1);
  let total = 0;
  for (let j = 0; j < gaps.length; j += 1) {
    const gap = random.exponential(1);
    gaps[j] = gap;
    total += gap;
  }
  let cumulative = 0;
  for (let j = 1; j < sessions; j += 1) {
    cumulative += gaps[j - 1] ?? 0;
    starts[j] = first + j * minGap + (total > 0 ? (free * cumulative) / total : 0);
  }
  return starts;
}

/** Millisecond timestamps for every step, strictly increasing, each session inside its own slot. */
function stepTimes(random: Random, steps: readonly Step[], starts: Float64Array): Float64Array {
  const times = new Float64Array(steps.length);
  let previous = -Infinity;
  let begin = 0;
  while (begin < steps.length) {
    const sessionIndex = steps[begin]?.session.index ?? 0;
    let end = begin + 1;
    while (end < steps.length && steps[end]?.session.index === sessionIndex) end += 1;

    const start = starts[sessionIndex] ?? 0;
    const next = starts[sessionIndex + 1];
    const available = next === undefined ? LAST_SESSION_MARGIN_MS / 2 : Math.max(0, next - start - 1000);
    const offsets = new Float64Array(end - begin);
    for (let k = 1; k < offsets.length; k += 1) offsets[k] = (offsets[k - 1] ?? 0) + 3000 + random.exponential(45_000);
    const natural = offsets[offsets.length - 1] ?? 0;
    const scale = natural > available ? available / natural : 1;
    for (let k = 0; k < offsets.length; k += 1) {
      const at = Math.max(Math.floor(start + (offsets[k] ?? 0) * scale), previous + 1);
      times[begin + k] = at;
      previous = at;
    }
    begin = end;
  }
  return times;
}

export function buildJourney(scope: JourneyScope, index: number): ProfileJourney {
  const { population, workspaceId, sourceId } = scope;
  const random = new Random(scope.seed, JOURNEY_STREAM, scope.workspaceKey, index);
  const budget = population.budget[index] ?? 1;
  const signsUp = population.signsUp[index] === 1;

  const profileId = random.uuid();
  const anonymousId = random.uuid();
  const userId = signsUp ? userIdFor(index, scope.seed) : null;
  const { persona, email, network } = drawPerson(random, index, signsUp, budget);

  const steps: Step[] = [];
  for (const step of story(random, persona)) {
    steps.push(step);
    if (steps.length >= budget) break;
  }
  const sessions = (steps[steps.length - 1]?.session.index ?? 0) + 1;
  const starts = sessionStarts(
    random,
    sessions,
    population.firstVisitAt[index] ?? 0,
    population.lastVisitAt[index] ?? 0,
  );
  const times = stepTimes(random, steps, starts);

  const events: EventRow[] = [];
  const traits: JsonObject = {};
  let identifiedAt: string | null = null;
  let context = '';
  let contextSession: Session | null = null;
  steps.forEach((step, k) => {
    const ms = times[k] ?? 0;
    const timestamp = isoTimestamp(ms);
    const sentMs = ms + random.int(50, 4000);
    if (step.session !== contextSession) {
      contextSession = step.session;
      context = contextJson(step.session, network);
    }
    let stepTraits: string | null = null;
    if (step.traits !== undefined) {
      const sent = step.stampsCreatedAt === true ? { ...step.traits, created_at: timestamp } : step.traits;
      Object.assign(traits, sent);
      stepTraits = JSON.stringify(sent);
      identifiedAt ??= timestamp;
    }
    events.push({
      workspaceId,
      profileId,
      sourceId,
      messageId: random.uuid(),
      type: step.type,
      name: step.name,
      userId: step.identified ? userId : null,
      anonymousId,
      properties: JSON.stringify(step.properties),
      traits: stepTraits,
      context,
      timestamp,
      originalTimestamp: timestamp,
      sentAt: isoTimestamp(sentMs),
      receivedAt: isoTimestamp(sentMs + random.int(20, 600)),
    });
  });

  const firstSeenAt = events[0]?.timestamp ?? isoTimestamp(population.firstVisitAt[index] ?? 0);
  const lastSeenAt = events[events.length - 1]?.timestamp ?? firstSeenAt;
  const identities: IdentityRow[] = [
    { id: random.uuid(), workspaceId, profileId, type: 'anonymous_id', value: anonymousId, createdAt: firstSeenAt },
  ];
  if (userId !== null && email !== null && identifiedAt !== null) {
    identities.push({
      id: random.uuid(),
      workspaceId,
      profileId,
      type: 'user_id',
      value: userId,
      createdAt: identifiedAt,
    });
    identities.push({
      id: random.uuid(),
      workspaceId,
      profileId,
      type: 'email',
      value: email,
      createdAt: identifiedAt,
    });
  }

  return {
    profile: {
      id: profileId,
      workspaceId,
      traits: JSON.stringify(traits),
      firstSeenAt,
      lastSeenAt,
      createdAt: firstSeenAt,
      updatedAt: lastSeenAt,
    },
    identities,
    events,
  };
}
