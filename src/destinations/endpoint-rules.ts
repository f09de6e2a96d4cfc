import type { FieldProblem } from '../common/validation';
import { AddressPolicy, literalAddress } from './address-policy';
import type { DestinationConfig, DestinationType, EmailConfig } from './destination-config';
import { smtpEndpoint, smtpTarget, usesTls } from './smtp-target';

/**
 * Rules about where a destination connects, checked when it is saved: a host written as an
 * address must be one destinations may reach (names are checked on every connection, see
 * destination-address.ts), and SMTP credentials travel only inside TLS, except to a loopback
 * address the operator allowed (a local relay or test sink).
 */
export function endpointProblems(
  type: DestinationType,
  config: DestinationConfig,
  policy: AddressPolicy,
): FieldProblem[] {
  // webhook, segment and slack: an HTTP(S) URL in config.url.
  return type === 'email'
    ? emailEndpointProblems(config as EmailConfig, policy)
    : urlEndpointProblems(config as { url: string }, policy);
}

function refusedLiteral(host: string, policy: AddressPolicy): string | undefined {
  const literal = literalAddress(host);
  return literal === undefined ? undefined : policy.refusal(literal);
}

function urlEndpointProblems(config: { url: string }, policy: AddressPolicy): FieldProblem[] {
  const refusal = refusedLiteral(new URL(config.url).hostname, policy);
  return refusal ? [{ field: 'config.url', reason: `points at an address that ${refusal}` }] : [];
}

function emailEndpointProblems(config: EmailConfig, policy: AddressPolicy): FieldProblem[] {
  const target = smtpTarget(config);
  if (!target) return [];
  const hostField = config.smtpUrl ? 'config.smtpUrl' : 'config.host';
  const refusal = refusedLiteral(target.host, policy);
  if (refusal) return [{ field: hostField, reason: `points at an address that ${refusal}` }];
  if (target.auth && !usesTls(target) && !isAllowedLoopbackHost(target.host, policy)) {
    return [
      {
        field: target.authField,
        reason:
          'credentials are only sent over TLS: use smtps:// or secure: true (port 465), or requireTLS: true (STARTTLS)',
      },
    ];
  }
  return [];
}

/** `localhost` or a loopback address, and the operator allows loopback. */
function isAllowedLoopbackHost(host: string, policy: AddressPolicy): boolean {
  if (host.toLowerCase() === 'localhost') return policy.isAllowedLoopback('127.0.0.1');
  const literal = literalAddress(host);
  return literal !== undefined && policy.isAllowedLoopback(literal);
}

/** Where a webhook connects: scheme, host and port. */
function webhookEndpoint(url: unknown): string {
  try {
    return new URL(String(url)).origin;
  } catch {
    return String(url);
  }
}

/**
 * A PATCH that moves a destination to another server must give its secrets again: kept secrets
 * would otherwise go to whichever address the token holder names. Returns the secret fields the
 * patch left out, for a 400.
 */
export function secretsNeededAgain(
  type: DestinationType,
  stored: Record<string, unknown>,
  patch: Record<string, unknown>,
  merged: Record<string, unknown>,
): FieldProblem[] {
  const reason = 'must be given again when the destination moves to another server';
  if (type === 'segment') {
    const moved = webhookEndpoint(stored.url) !== webhookEndpoint(merged.url);
    return moved && patch.writeKey === undefined ? [{ field: 'config.writeKey', reason }] : [];
  }
  // A Slack incoming-webhook URL is its own secret: a new one is always given whole.
  if (type === 'slack') return [];
  if (type === 'webhook') {
    if (webhookEndpoint(stored.url) === webhookEndpoint(merged.url)) return [];
    const problems: FieldProblem[] = [];
    if (stored.secret !== undefined && patch.secret === undefined) problems.push({ field: 'config.secret', reason });
    const headers = stored.headers as Record<string, string> | undefined;
    if (headers && Object.keys(headers).length > 0 && !('headers' in patch)) {
      problems.push({ field: 'config.headers', reason: `${reason} (their values are secrets)` });
    }
    return problems;
  }
  const kept = stored.auth !== undefined && !('auth' in patch);
  if (!kept) return [];
  const before = smtpEndpoint(stored);
  let after: string;
  try {
    after = smtpEndpoint(merged);
  } catch {
    return []; // an unreadable smtpUrl is reported by validation
  }
  return before === after ? [] : [{ field: 'config.auth', reason }];
}
