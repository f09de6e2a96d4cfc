/**
 * What the quick start's Demo workspace holds: three months of a SaaS app with a shop (the seeded
 * generator's people and events), the audiences the docs walk through, and follow-up emails to
 * the local mail sink. Every example in README.md and docs/ is meant to run on it as written.
 */

export const DEMO_WORKSPACE_NAME = 'Demo';
export const DEMO_SOURCE_NAME = 'Demo app';

/** A few thousand people, about 13 events each: enough for every example, loaded in seconds. */
export const DEMO_DATASET = { profiles: 3_000, events: 40_000, months: 3, seed: 42 } as const;

export const CHECKOUT_STEPS = [
  { event: 'Product Viewed' },
  { event: 'Product Added' },
  { event: 'Checkout Started' },
  { event: 'Order Completed' },
] as const;

/** The mission's audience, as docs/audiences.md creates it. */
export const DORMANT_NEWBIES = {
  key: 'dormant-newbies',
  name: 'Dormant newbies',
  definition: 'never performed "Tutorial Viewed" and inactive 30 days',
} as const;
export const DORMANT_NEWBIES_DESCRIPTION = DORMANT_NEWBIES.definition;

/** Started checkout, no order within 2 days: docs/funnels.md step 7. */
export const CHECKOUT_DROP_OFF = {
  steps: CHECKOUT_STEPS,
  windowDays: 2,
  dropOffAfterStep: 3,
  key: 'checkout-drop-off',
  name: 'Dropped at checkout',
} as const;
export const CHECKOUT_DROP_OFF_DESCRIPTION = 'started checkout, no order within 2 days (from the checkout funnel)';

export interface DemoEmail {
  audienceKey: string;
  name: string;
  config: { from: string; subject: string; html: string; text: string };
}

const FROM = 'Acme <hello@acme.example>';
const FOOTER_HTML = '<p style="color:#888">Acme · <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>';
const FOOTER_TEXT = 'Unsubscribe: {{ unsubscribe_url }}';

/** One destination per audience, connected with backfill: the current members are mailed once. */
export const DEMO_EMAILS: readonly DemoEmail[] = [
  {
    audienceKey: DORMANT_NEWBIES.key,
    name: 'Tutorial nudge',
    config: {
      from: FROM,
      subject: '{{ traits.first_name | default: "Hi" }}, your first audience is five minutes away',
      html:
        '<p>Hi {{ traits.first_name | default: "there" }},</p>' +
        '<p>You signed up for Acme but have not opened the getting-started tutorial yet. It takes five minutes ' +
        'and ends with your first audience.</p>' +
        '<p><a href="https://acme.example/docs/getting-started">Start the tutorial</a></p>' +
        FOOTER_HTML,
      text:
        'Hi {{ traits.first_name | default: "there" }},\n\nYou signed up for Acme but have not opened the ' +
        'getting-started tutorial yet. It takes five minutes: https://acme.example/docs/getting-started\n\n' +
        FOOTER_TEXT,
    },
  },
  {
    audienceKey: CHECKOUT_DROP_OFF.key,
    name: 'Checkout reminder',
    config: {
      from: FROM,
      subject: 'Still thinking it over, {{ traits.first_name | default: "friend" }}?',
      html:
        '<p>Hi {{ traits.first_name | default: "there" }},</p>' +
        '<p>You started a checkout at the Acme shop but did not finish it. Your cart is saved.</p>' +
        '<p><a href="https://acme.example/shop/cart">Back to your cart</a></p>' +
        FOOTER_HTML,
      text:
        'Hi {{ traits.first_name | default: "there" }},\n\nYou started a checkout at the Acme shop but did not ' +
        'finish it. Your cart is saved: https://acme.example/shop/cart\n\n' +
        FOOTER_TEXT,
    },
  },
];
