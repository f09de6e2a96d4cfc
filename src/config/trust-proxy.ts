import { isIP } from 'node:net';

/** Fastify's `trustProxy`: off, on, a number of hops, or the addresses and ranges of trusted proxies. */
export type TrustProxy = boolean | number | string[];

export const INVALID_TRUST_PROXY = Symbol('invalid TRUST_PROXY');

/** Names proxy-addr (Fastify's) knows for well-known ranges. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrRange(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/** `TRUST_PROXY` as Fastify takes it, or INVALID_TRUST_PROXY. */
export function parseTrustProxy(value: unknown): TrustProxy | typeof INVALID_TRUST_PROXY {
  if (typeof value === 'boolean' || typeof value === 'number') return value;
  if (typeof value !== 'string') return INVALID_TRUST_PROXY;
  const text = value.trim().toLowerCase();
  if (text === '' || text === 'false') return false;
  if (text === 'true') return true;
  if (/^\d+$/.test(text)) return Number(text);
  const entries = text.split(',').map((entry) => entry.trim());
  return entries.every(isAddressOrRange) ? entries : INVALID_TRUST_PROXY;
}

/**
 * The `trustProxy` option for Fastify. A hop count becomes a function trusting that many hops
 * nearest the server: Fastify itself trusts no hop for a plain number.
 */
export function fastifyTrustProxy(
  setting: TrustProxy,
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting !== 'number') return setting;
  return (_address, hop) => hop < setting;
}
