import { readAudienceDefinition } from '../../src/audiences/language/audience-definition';

/**
 * The 20 audiences of bench:realtime, in the generator's vocabulary: every condition family, two
 * `in audience` chains (two deep), sequences. Both the heavy and the probe workspace get them all,
 * so every batch is evaluated against 20 audiences.
 */
export const REALTIME_AUDIENCES: readonly { key: string; definition: string }[] = [
  { key: 'rt-buyers', definition: 'performed "Order Completed"' },
  {
    key: 'rt-big-spenders',
    definition: 'performed "Order Completed" at least 2 times within 90 days where value > 50',
  },
  { key: 'rt-engaged', definition: 'performed "Product Viewed" at least 3 times within 30 days' },
  { key: 'rt-active-week', definition: 'active within 7 days' },
  { key: 'rt-dormant', definition: 'never performed "Tutorial Viewed" and inactive 30 days' },
  { key: 'rt-new-signups', definition: 'first performed "Signed Up" within 30 days' },
  { key: 'rt-searchers', definition: 'last performed "Search Performed" within 14 days' },
  {
    key: 'rt-cart-abandoners',
    definition: 'performed "Product Added" then not performed "Order Completed" within 1 hours',
  },
  {
    key: 'rt-checkout-converted',
    definition: 'performed "Checkout Started" then performed "Order Completed" within 1 days',
  },
  { key: 'rt-pro', definition: 'trait plan = "Pro Monthly" or trait plan = "Pro Annual"' },
  { key: 'rt-free', definition: 'trait plan = "Free"' },
  { key: 'rt-company', definition: 'trait company exists' },
  { key: 'rt-gmail', definition: 'trait email contains "gmail"' },
  { key: 'rt-first-seen', definition: 'first seen within 30 days' },
  { key: 'rt-lapsed', definition: 'last seen before 60 days ago' },
  { key: 'rt-browsers', definition: 'performed "Product Viewed" and never performed "Order Completed"' },
  { key: 'rt-buyer-pro', definition: 'in audience "rt-buyers" and in audience "rt-pro"' },
  { key: 'rt-buyer-pro-active', definition: 'in audience "rt-buyer-pro" and in audience "rt-active-week"' },
  { key: 'rt-active-non-buyers', definition: 'not in audience "rt-buyers" and active within 14 days' },
  { key: 'rt-onboarded', definition: 'performed "Tutorial Viewed" and performed "Project Created" at least 1 times' },
];

/** The probe's audience: one qualifying event enters it. */
export const PROBE_AUDIENCE_KEY = 'rt-buyers';
export const PROBE_EVENT = 'Order Completed';

/** Throws naming the first definition the language refuses (a typo here must not cost a long run). */
export function checkRealtimeAudiences(): void {
  for (const audience of REALTIME_AUDIENCES) {
    const read = readAudienceDefinition(audience.definition);
    if (!read.ok) throw new Error(`bench audience ${audience.key}: ${JSON.stringify(read.errors)}`);
  }
}
