/**
 * Segment-shaped messages for the ingest benchmark: what analytics.js sends for a shop (track,
 * page, identify), about 700 bytes each. Deterministic from a counter so runs are comparable.
 */

const EVENTS = ['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed', 'Products Searched'];
const PATHS = ['/', '/pricing', '/products/shoes', '/products/bags', '/cart', '/checkout'];
const SOURCES = ['google', 'newsletter', 'facebook', 'direct'];
const USER_AGENT =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

export interface BenchMessage {
  type: 'track' | 'page' | 'identify';
  messageId: string;
  userId: string | null;
  anonymousId: string;
  event?: string;
  name?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context: Record<string, unknown>;
  timestamp: string;
}

/** Cheap deterministic mixing (a counter is enough; quality randomness is not the point). */
function mix(n: number): number {
  let x = (n + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

function pick<T>(items: readonly T[], n: number): T {
  return items[n % items.length] as T;
}

/** The n-th message of a run; `people` bounds how many distinct people appear. */
export function benchMessage(runId: string, n: number, people: number, at: Date): BenchMessage {
  const r = mix(n);
  const person = r % people;
  const known = person % 10 < 6;
  const path = pick(PATHS, r >>> 3);
  const context = {
    library: { name: 'analytics.js', version: '5.2.0' },
    page: { path, url: `https://shop.example.com${path}`, referrer: 'https://www.google.com/', title: 'Shop' },
    campaign: { source: pick(SOURCES, r >>> 5), medium: 'cpc', name: 'spring-sale' },
    userAgent: USER_AGENT,
    locale: 'en-US',
    ip: `10.${(person >>> 16) & 255}.${(person >>> 8) & 255}.${person & 255}`,
  };
  const base = {
    messageId: `${runId}-${n}`,
    userId: known ? `user-${person}` : null,
    anonymousId: `anon-${person}`,
    context,
    timestamp: at.toISOString(),
  };
  const kind = r % 20;
  if (kind === 0) {
    return {
      ...base,
      type: 'identify',
      traits: { email: `person${person}@example.com`, plan: pick(['free', 'pro'], r >>> 7) },
    };
  }
  if (kind === 1) {
    return { ...base, type: 'page', name: 'Shop', properties: { path, title: 'Shop', url: context.page.url } };
  }
  return {
    ...base,
    type: 'track',
    event: pick(EVENTS, r >>> 9),
    properties: {
      product_id: `p-${r % 5000}`,
      price: (r % 10000) / 100,
      currency: 'USD',
      category: pick(['shoes', 'bags'], r),
    },
  };
}

const q = JSON.stringify;
const LIBRARY = q({ name: 'analytics.js', version: '5.2.0' });

/**
 * `JSON.stringify(benchMessage(…))`, written directly: building and serializing the objects cost
 * the load generator half as much CPU as the server spent storing them, on the same two cores.
 * `checkBenchMessageJson` holds the two equal.
 */
export function benchMessageJson(runId: string, n: number, people: number, at: string): string {
  const r = mix(n);
  const person = r % people;
  const known = person % 10 < 6;
  const path = pick(PATHS, r >>> 3);
  const url = `https://shop.example.com${path}`;
  const context =
    `{"library":${LIBRARY},"page":{"path":${q(path)},"url":${q(url)},"referrer":"https://www.google.com/","title":"Shop"},` +
    `"campaign":{"source":${q(pick(SOURCES, r >>> 5))},"medium":"cpc","name":"spring-sale"},"userAgent":${q(USER_AGENT)},` +
    `"locale":"en-US","ip":"10.${(person >>> 16) & 255}.${(person >>> 8) & 255}.${person & 255}"}`;
  const base =
    `{"messageId":${q(`${runId}-${n}`)},"userId":${known ? q(`user-${person}`) : 'null'},` +
    `"anonymousId":${q(`anon-${person}`)},"context":${context},"timestamp":${q(at)}`;
  const kind = r % 20;
  if (kind === 0) {
    return `${base},"type":"identify","traits":{"email":${q(`person${person}@example.com`)},"plan":${q(pick(['free', 'pro'], r >>> 7))}}}`;
  }
  if (kind === 1) {
    return `${base},"type":"page","name":"Shop","properties":{"path":${q(path)},"title":"Shop","url":${q(url)}}}`;
  }
  return (
    `${base},"type":"track","event":${q(pick(EVENTS, r >>> 9))},"properties":{"product_id":${q(`p-${r % 5000}`)},` +
    `"price":${q((r % 10000) / 100)},"currency":"USD","category":${q(pick(['shoes', 'bags'], r))}}}`
  );
}

/** Throws unless `benchMessageJson` writes what `JSON.stringify(benchMessage(…))` does. */
export function checkBenchMessageJson(runId: string, people: number): void {
  const at = new Date();
  for (let n = 0; n < 5_000; n += 1) {
    const expected = JSON.stringify(benchMessage(runId, n, people, at));
    if (benchMessageJson(runId, n, people, at.toISOString()) !== expected) {
      throw new Error(`benchMessageJson differs from benchMessage for message ${n}: ${expected}`);
    }
  }
}
