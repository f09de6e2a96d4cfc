import { WeightedTable } from './random';

/**
 * The vocabulary of the synthetic product: a SaaS app with a shop attached, instrumented the way
 * Segment's spec names things, so audience and funnel benchmarks read like a real growth team's.
 */

export const EVENT = {
  signedUp: 'Signed Up',
  tutorialViewed: 'Tutorial Viewed',
  projectCreated: 'Project Created',
  subscriptionStarted: 'Subscription Started',
  productViewed: 'Product Viewed',
  productAdded: 'Product Added',
  checkoutStarted: 'Checkout Started',
  orderCompleted: 'Order Completed',
} as const;

export interface Page {
  readonly name: string;
  readonly path: string;
  readonly title: string;
}

function page(name: string, path: string): Page {
  return { name, path, title: `${name} | Acme` };
}

export const LANDING_PAGES = new WeightedTable<Page>([
  { value: page('Home', '/'), weight: 40 },
  { value: page('Pricing', '/pricing'), weight: 20 },
  { value: page('Features', '/features'), weight: 12 },
  { value: page('Blog Post', '/blog/how-we-cut-churn-in-half'), weight: 15 },
  { value: page('Integrations', '/integrations'), weight: 6 },
  { value: page('Docs', '/docs/getting-started'), weight: 7 },
]);

export const MARKETING_PAGES = new WeightedTable<Page>([
  { value: page('Pricing', '/pricing'), weight: 30 },
  { value: page('Features', '/features'), weight: 25 },
  { value: page('Customers', '/customers'), weight: 10 },
  { value: page('Blog Post', '/blog/segment-to-sql'), weight: 15 },
  { value: page('Shop', '/shop'), weight: 20 },
]);

export const APP_PAGES = new WeightedTable<Page>([
  { value: page('Dashboard', '/app'), weight: 45 },
  { value: page('Projects', '/app/projects'), weight: 20 },
  { value: page('Settings', '/app/settings'), weight: 8 },
  { value: page('Billing', '/app/billing'), weight: 5 },
  { value: page('Docs', '/docs/api'), weight: 12 },
  { value: page('Shop', '/shop'), weight: 10 },
]);

/** Everyday in-app actions between milestones; these make up the bulk of a heavy user's events. */
export const APP_ACTIONS = new WeightedTable<string>([
  { value: 'Project Opened', weight: 40 },
  { value: 'Report Exported', weight: 12 },
  { value: 'Dashboard Shared', weight: 8 },
  { value: 'Invite Sent', weight: 6 },
  { value: 'Integration Connected', weight: 4 },
  { value: 'Search Performed', weight: 30 },
]);

export interface Product {
  readonly id: string;
  readonly sku: string;
  readonly name: string;
  readonly category: string;
  readonly price: number;
}

const PRODUCT_LIST: readonly [string, string, number][] = [
  ['Acme Hoodie', 'Apparel', 59],
  ['Acme T-Shirt', 'Apparel', 24],
  ['Logo Cap', 'Apparel', 19.5],
  ['Sticker Pack', 'Accessories', 6],
  ['Enamel Mug', 'Home', 16],
  ['Desk Mat', 'Accessories', 32],
  ['Water Bottle', 'Home', 27.99],
  ['Notebook Set', 'Stationery', 14.5],
  ['Mechanical Keyboard', 'Electronics', 149],
  ['USB-C Hub', 'Electronics', 69],
  ['Noise-Cancelling Headphones', 'Electronics', 249],
  ['Laptop Sleeve', 'Accessories', 45],
  ['Growth Playbook (Print)', 'Books', 39],
  ['SQL for Marketers', 'Books', 29],
  ['Standing Desk Converter', 'Home', 219],
  ['Backpack', 'Accessories', 89],
  ['Socks (3 pack)', 'Apparel', 18],
  ['Monitor Light Bar', 'Electronics', 79],
  ['Plant Pot', 'Home', 22],
  ['Gift Card', 'Gift Cards', 50],
];

export const PRODUCTS: readonly Product[] = PRODUCT_LIST.map(([name, category, price], index) => {
  const number = String(index + 1).padStart(3, '0');
  return { id: `prod_${number}`, sku: `ACM-${number}`, name, category, price };
});

/** Product popularity is itself skewed: a few best sellers, a long tail. */
export const PRODUCT_POPULARITY = new WeightedTable<Product>(
  PRODUCTS.map((product, index) => ({ value: product, weight: 1 / (index + 1) })),
);

export interface Plan {
  readonly name: string;
  readonly interval: 'month' | 'year';
  readonly price: number;
}

export const PAID_PLANS = new WeightedTable<Plan>([
  { value: { name: 'Starter Monthly', interval: 'month', price: 19 }, weight: 35 },
  { value: { name: 'Pro Monthly', interval: 'month', price: 49 }, weight: 35 },
  { value: { name: 'Pro Annual', interval: 'year', price: 490 }, weight: 20 },
  { value: { name: 'Team Annual', interval: 'year', price: 1490 }, weight: 10 },
]);

export const FREE_PLAN = 'Free';

export const TUTORIALS: readonly string[] = ['getting-started', 'first-audience', 'connect-a-source', 'email-sync'];

export const PROJECT_TEMPLATES: readonly string[] = ['blank', 'onboarding-funnel', 'churn-watch', 'ecommerce-kpis'];

export const SIGNUP_METHODS = new WeightedTable<string>([
  { value: 'email', weight: 55 },
  { value: 'google', weight: 35 },
  { value: 'github', weight: 10 },
]);

/** How a visit started. `null` is direct traffic: no campaign and no referrer. */
export interface Channel {
  readonly campaign: { source: string; medium: string; name: string } | null;
  readonly referrer: string | null;
}

export const CHANNELS = new WeightedTable<Channel>([
  { value: { campaign: null, referrer: null }, weight: 30 },
  { value: { campaign: null, referrer: 'https://www.google.com/' }, weight: 18 },
  {
    value: { campaign: { source: 'google', medium: 'cpc', name: 'brand-search' }, referrer: 'https://www.google.com/' },
    weight: 14,
  },
  {
    value: {
      campaign: { source: 'facebook', medium: 'paid-social', name: 'spring-sale' },
      referrer: 'https://m.facebook.com/',
    },
    weight: 10,
  },
  { value: { campaign: { source: 'newsletter', medium: 'email', name: 'weekly-digest' }, referrer: null }, weight: 9 },
  {
    value: { campaign: { source: 'twitter', medium: 'social', name: 'launch-week' }, referrer: 'https://t.co/' },
    weight: 6,
  },
  {
    value: {
      campaign: { source: 'producthunt', medium: 'referral', name: 'launch' },
      referrer: 'https://www.producthunt.com/',
    },
    weight: 5,
  },
  { value: { campaign: { source: 'partner', medium: 'referral', name: 'agency-program' }, referrer: null }, weight: 4 },
  { value: { campaign: null, referrer: 'https://news.ycombinator.com/' }, weight: 4 },
]);

export interface Device {
  readonly type: 'desktop' | 'mobile' | 'tablet';
  readonly os: string;
  readonly userAgent: string;
}

export const DEVICES = new WeightedTable<Device>([
  {
    value: {
      type: 'desktop',
      os: 'Mac OS X',
      userAgent:
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
    },
    weight: 30,
  },
  {
    value: {
      type: 'desktop',
      os: 'Windows',
      userAgent:
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
    },
    weight: 28,
  },
  {
    value: {
      type: 'mobile',
      os: 'iOS',
      userAgent:
        'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
    },
    weight: 18,
  },
  {
    value: {
      type: 'mobile',
      os: 'Android',
      userAgent:
        'Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36',
    },
    weight: 16,
  },
  {
    value: {
      type: 'tablet',
      os: 'iPadOS',
      userAgent: 'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
    },
    weight: 8,
  },
]);

export interface Locale {
  readonly locale: string;
  readonly timezone: string;
  readonly currency: string;
}

export const LOCALES = new WeightedTable<Locale>([
  { value: { locale: 'en-US', timezone: 'America/New_York', currency: 'USD' }, weight: 30 },
  { value: { locale: 'en-US', timezone: 'America/Los_Angeles', currency: 'USD' }, weight: 20 },
  { value: { locale: 'en-GB', timezone: 'Europe/London', currency: 'GBP' }, weight: 12 },
  { value: { locale: 'de-DE', timezone: 'Europe/Berlin', currency: 'EUR' }, weight: 12 },
  { value: { locale: 'fr-FR', timezone: 'Europe/Paris', currency: 'EUR' }, weight: 9 },
  { value: { locale: 'es-ES', timezone: 'Europe/Madrid', currency: 'EUR' }, weight: 5 },
  { value: { locale: 'pt-BR', timezone: 'America/Sao_Paulo', currency: 'USD' }, weight: 6 },
  { value: { locale: 'en-IN', timezone: 'Asia/Kolkata', currency: 'USD' }, weight: 6 },
]);

export const FIRST_NAMES: readonly string[] = [
  'Ada', 'Alex', 'Amara', 'Ben', 'Carla', 'Chen', 'Daniel', 'Elena', 'Emma', 'Fatima', 'Felix', 'Grace',
  'Hannah', 'Hugo', 'Isabel', 'Ivan', 'Jamal', 'Julia', 'Kai', 'Laura', 'Leo', 'Lucia', 'Maya', 'Mohammed',
  'Nina', 'Noah', 'Olivia', 'Omar', 'Priya', 'Rafael', 'Sara', 'Sofia', 'Tom', 'Yuki', 'Zoe', 'Wei',
]; // prettier-ignore

export const LAST_NAMES: readonly string[] = [
  'Adams', 'Baker', 'Costa', 'Dubois', 'Evans', 'Fischer', 'Garcia', 'Haddad', 'Ito', 'Jensen', 'Kim',
  'Lopez', 'Martin', 'Nakamura', 'Novak', 'Okafor', 'Patel', 'Quinn', 'Rossi', 'Schmidt', 'Silva', 'Singh',
  'Tanaka', 'Usman', 'Virtanen', 'Wang', 'Weber', 'Nguyen', 'Yilmaz', 'Zhang',
]; // prettier-ignore

export const COMPANIES: readonly { name: string; domain: string }[] = [
  { name: 'Northwind Traders', domain: 'northwind.io' },
  { name: 'Globex', domain: 'globex.com' },
  { name: 'Initech', domain: 'initech.com' },
  { name: 'Umbrella Health', domain: 'umbrella.health' },
  { name: 'Hooli', domain: 'hooli.xyz' },
  { name: 'Stark Logistics', domain: 'starklogistics.com' },
  { name: 'Wayne Retail', domain: 'wayneretail.com' },
  { name: 'Soylent Foods', domain: 'soylent.co' },
  { name: 'Vandelay Industries', domain: 'vandelay.com' },
  { name: 'Pied Piper', domain: 'piedpiper.com' },
  { name: 'Tyrell Labs', domain: 'tyrell.ai' },
  { name: 'Cyberdyne', domain: 'cyberdyne.systems' },
];

export const PERSONAL_EMAIL_DOMAINS: readonly string[] = [
  'gmail.com',
  'outlook.com',
  'yahoo.com',
  'proton.me',
  'icloud.com',
];

export const LIBRARY = { name: 'analytics.js', version: 'next-1.70.0' } as const;
