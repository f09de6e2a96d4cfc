import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIPv6, LookupFunction } from 'node:net';

import { AddressPolicy, literalAddress } from './address-policy';

/** A destination's host is, or resolves to, an address destinations may not reach: a final failure. */
export class AddressRefusedError extends Error {
  readonly code = 'EDESTINATIONREFUSED';
}

/**
 * Resolves a destination's host and checks every address it resolves to, so that what is connected
 * to is what was checked (a name that resolves to a refused address once, DNS rebinding, gets
 * nothing). A host written as an address is checked as it is. Allowed addresses in resolver order.
 */
export async function resolveAllowed(host: string, policy: AddressPolicy): Promise<LookupAddress[]> {
  const literal = literalAddress(host);
  const addresses: LookupAddress[] = literal
    ? [{ address: literal, family: isIPv6(literal) ? 6 : 4 }]
    : await lookup(host, { all: true });
  for (const { address } of addresses) {
    const refusal = policy.refusal(address);
    if (refusal) {
      throw new AddressRefusedError(literal ? `${host} ${refusal}` : `${host} resolves to an address that ${refusal}`);
    }
  }
  return addresses;
}

/** Throws AddressRefusedError when a host written as an address is refused (names are checked when connecting). */
export function assertLiteralAllowed(host: string, policy: AddressPolicy): void {
  const literal = literalAddress(host);
  const refusal = literal === undefined ? undefined : policy.refusal(literal);
  if (refusal) throw new AddressRefusedError(`${host} ${refusal}`);
}

/**
 * A `lookup` for net.connect (through an http.Agent) that only ever hands out checked addresses.
 * Node skips `lookup` for a host that is already an IP, so callers check those first
 * (assertLiteralAllowed).
 */
export function checkedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    resolveAllowed(hostname, policy).then(
      (addresses) => {
        const first = addresses[0];
        if (options.all) callback(null, addresses);
        else if (first) callback(null, first.address, first.family);
        else callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 4);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 4),
    );
  };
}
