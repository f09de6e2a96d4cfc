import { Injectable } from '@nestjs/common';
import ipaddr from 'ipaddr.js';

import { AppConfig } from '../config/app-config';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Network = [Address, number];

/** Parses `DESTINATION_ALLOWED_NETWORKS` (comma-separated CIDRs); throws naming the first bad entry. */
export function parseNetworks(list: string | undefined): Network[] {
  return (list ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      try {
        return ipaddr.parseCIDR(entry);
      } catch {
        throw new Error(`"${entry}" is not a CIDR range such as 127.0.0.0/8 or ::1/128`);
      }
    });
}

/**
 * The address a host stands for when it is written as one: `10.0.0.1`, `[::1]`, and the forms
 * resolvers also accept (`2130706433`, `0x7f.1`), which a URL parser does not normalise for
 * smtp:// URLs. Undefined for a host name.
 */
export function literalAddress(host: string): string | undefined {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return ipaddr.isValid(bare) ? ipaddr.process(bare).toString() : undefined;
}

/** What a refused address is, in words that say nothing about what listens there. */
const RANGE_NAMES: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  linkLocal: 'a link-local address (cloud metadata services live there)',
  carrierGradeNat: 'a shared (carrier-grade NAT) address',
  uniqueLocal: 'a unique-local address',
  unspecified: 'the unspecified address',
  ipv4Mapped: 'an IPv4-mapped address',
  rfc6052: 'an IPv4-translated address',
  rfc6145: 'an IPv4-translated address',
};

/**
 * Which addresses destinations may connect to: public unicast addresses only, plus the ranges the
 * operator allows in DESTINATION_ALLOWED_NETWORKS. Loopback, private, link-local (metadata),
 * CGNAT, unique-local, translated and reserved addresses are refused unless allowed, so a
 * workspace cannot make Personae probe its own network. IPv4-mapped IPv6 addresses are judged as
 * the IPv4 address they carry.
 */
@Injectable()
export class AddressPolicy {
  private readonly allowed: Network[];

  constructor(config: AppConfig) {
    this.allowed = parseNetworks(config.DESTINATION_ALLOWED_NETWORKS);
  }

  /** A policy allowing `networks` (a DESTINATION_ALLOWED_NETWORKS value) besides public addresses. */
  static allowing(networks: string): AddressPolicy {
    return new AddressPolicy({ DESTINATION_ALLOWED_NETWORKS: networks } as AppConfig);
  }

  /** Why a destination may not connect to `address` (an IP), or undefined when it may. */
  refusal(address: string): string | undefined {
    if (!ipaddr.isValid(address)) return 'is not an IP address';
    const parsed = ipaddr.process(address);
    if (this.isAllowedByOperator(parsed)) return undefined;
    const range = parsed.range();
    if (range === 'unicast') return undefined;
    return `is ${RANGE_NAMES[range] ?? `a reserved address (${range})`}, which destinations may not reach`;
  }

  /** Loopback that the operator allowed: the one place SMTP credentials may travel without TLS. */
  isAllowedLoopback(address: string): boolean {
    if (!ipaddr.isValid(address)) return false;
    const parsed = ipaddr.process(address);
    return parsed.range() === 'loopback' && this.isAllowedByOperator(parsed);
  }

  private isAllowedByOperator(address: Address): boolean {
    return this.allowed.some(([network, bits]) => network.kind() === address.kind() && address.match(network, bits));
  }
}
