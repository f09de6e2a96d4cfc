/**
 * Tracking messages for bench:realtime in the generator's vocabulary, so the 20 audiences have
 * real work: each message is a new person, or (a share of them) a person of the loaded dataset
 * coming back. Deterministic from a counter; written as JSON text directly (the load generator
 * shares the machine with the server).
 */

const EVENTS: readonly [string, number][] = [
  ['Product Viewed', 40],
  ['Search Performed', 20],
  ['Product Added', 15],
  ['Checkout Started', 8],
  ['Order Completed', 8],
  ['Tutorial Viewed', 5],
  ['Project Created', 4],
];
const EVENT_TABLE = EVENTS.flatMap(([name, weight]) => Array.from({ length: weight }, () => name));
const PLANS = ['Free', 'Free', 'Starter Monthly', 'Pro Monthly', 'Pro Annual'];
const DOMAINS = ['gmail.com', 'acme.io', 'example.org'];
const q = JSON.stringify;
const CONTEXT =
  '{"library":{"name":"analytics.js","version":"5.2.0"},"locale":"en-US",' +
  '"page":{"path":"/shop","url":"https://acme.example/shop","title":"Shop | Acme"},' +
  '"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"}';

export interface MessageOptions {
  runId: string;
  /** User ids of the dataset's people; a `returningShare` of messages is one of them. */
  returning: readonly string[];
  returningShare: number;
  /** ISO timestamp of the message. */
  at: string;
}

function mix(n: number): number {
  let x = (n + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

export function realtimeMessageJson(n: number, options: MessageOptions): string {
  const r = mix(n);
  const returning = options.returning.length > 0 && r % 1000 < options.returningShare * 1000;
  const who = returning
    ? `"userId":${q(options.returning[(r >>> 10) % options.returning.length])}`
    : `"anonymousId":${q(`${options.runId}-a${n}`)}${r % 10 < 3 ? `,"userId":${q(`${options.runId}-u${n}`)}` : ''}`;
  const base = `{"messageId":${q(`${options.runId}-${n}`)},${who},"context":${CONTEXT},"timestamp":${q(options.at)}`;
  const kind = (r >>> 4) % 20;
  if (kind < 2) {
    const domain = DOMAINS[(r >>> 8) % DOMAINS.length]!;
    const traits = `{"plan":${q(PLANS[(r >>> 12) % PLANS.length])},"email":${q(`p${n}@${domain}`)}${domain === 'acme.io' ? ',"company":"Acme"' : ''}}`;
    return `${base},"type":"identify","traits":${traits}}`;
  }
  if (kind === 2) return `${base},"type":"page","name":"Shop","properties":{"path":"/shop"}}`;
  const event = EVENT_TABLE[(r >>> 9) % EVENT_TABLE.length]!;
  const properties = event === 'Order Completed' ? `{"value":${(r % 20000) / 100},"currency":"USD"}` : '{}';
  return `${base},"type":"track","event":${q(event)},"properties":${properties}}`;
}
