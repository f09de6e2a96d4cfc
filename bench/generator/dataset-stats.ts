import { EVENT } from '../../src/demo/generator/catalog';
import type { ProfileJourney } from '../../src/demo/generator/rows';

/**
 * Shape of a generated dataset, gathered while it streams past, so a benchmark report can show the
 * data is what it claims to be (funnel drop-offs, long tail, inactive people) without re-querying.
 */

const DAY_MS = 86_400_000;

export const SIGNUP_FUNNEL: readonly string[] = [
  EVENT.signedUp,
  EVENT.tutorialViewed,
  EVENT.projectCreated,
  EVENT.subscriptionStarted,
];
export const SHOP_FUNNEL: readonly string[] = [
  EVENT.productViewed,
  EVENT.productAdded,
  EVENT.checkoutStarted,
  EVENT.orderCompleted,
];

export interface DatasetStatsSnapshot {
  profiles: number;
  events: number;
  identities: number;
  signedUp: number;
  oneEventVisitors: number;
  inactive30Days: number;
  signedUpNeverViewedTutorial: number;
  maxEventsPerProfile: number;
  /** Share of all events produced by the most active 1% of profiles. */
  top1PercentEventShare: number;
  eventsByType: Record<string, number>;
  /** Profiles that performed each step at least once. */
  funnels: { signup: FunnelStepCount[]; shop: FunnelStepCount[] };
}

export interface FunnelStepCount {
  event: string;
  profiles: number;
}

export class DatasetStats {
  private profiles = 0;
  private events = 0;
  private identities = 0;
  private signedUp = 0;
  private oneEventVisitors = 0;
  private inactive = 0;
  private neverTutorial = 0;
  private maxEvents = 0;
  private readonly perProfile: number[] = [];
  private readonly byType = new Map<string, number>();
  private readonly reaching = new Map<string, number>();
  private readonly inactiveBefore: string;

  constructor(now: string) {
    this.inactiveBefore = new Date(Date.parse(now) - 30 * DAY_MS).toISOString();
  }

  observe(journey: ProfileJourney): void {
    const count = journey.events.length;
    this.profiles += 1;
    this.events += count;
    this.identities += journey.identities.length;
    this.maxEvents = Math.max(this.maxEvents, count);
    this.perProfile.push(count);
    if (count === 1) this.oneEventVisitors += 1;
    if (journey.profile.lastSeenAt < this.inactiveBefore) this.inactive += 1;

    const seen = new Set<string>();
    for (const event of journey.events) {
      const key = event.type === 'track' ? (event.name ?? '') : event.type;
      this.byType.set(key, (this.byType.get(key) ?? 0) + 1);
      if (event.type === 'track' && event.name !== null) seen.add(event.name);
    }
    for (const name of seen) this.reaching.set(name, (this.reaching.get(name) ?? 0) + 1);
    if (seen.has(EVENT.signedUp)) {
      this.signedUp += 1;
      if (!seen.has(EVENT.tutorialViewed)) this.neverTutorial += 1;
    }
  }

  snapshot(): DatasetStatsSnapshot {
    const sorted = [...this.perProfile].sort((a, b) => b - a);
    const top = sorted.slice(0, Math.max(1, Math.floor(sorted.length / 100))).reduce((sum, n) => sum + n, 0);
    const eventsByType = Object.fromEntries([...this.byType.entries()].sort((a, b) => b[1] - a[1]));
    const funnel = (steps: readonly string[]): FunnelStepCount[] =>
      steps.map((event) => ({ event, profiles: this.reaching.get(event) ?? 0 }));
    return {
      profiles: this.profiles,
      events: this.events,
      identities: this.identities,
      signedUp: this.signedUp,
      oneEventVisitors: this.oneEventVisitors,
      inactive30Days: this.inactive,
      signedUpNeverViewedTutorial: this.neverTutorial,
      maxEventsPerProfile: this.maxEvents,
      top1PercentEventShare: this.events > 0 ? Math.round((top / this.events) * 1000) / 1000 : 0,
      eventsByType,
      funnels: { signup: funnel(SIGNUP_FUNNEL), shop: funnel(SHOP_FUNNEL) },
    };
  }
}
