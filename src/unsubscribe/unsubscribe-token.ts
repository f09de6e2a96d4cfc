import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** Who asked to stop receiving mail: the address, in which workspace, from which destination. */
export interface UnsubscribeClaim {
  workspaceId: string;
  destinationId: string;
  email: string;
}

const VERSION = 1;
const MAC_BYTES = 16;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The key that signs unsubscribe links. It is derived from the admin token with HKDF (a distinct
 * `info` keeps it unrelated to any other use of that token), so an installation needs no extra
 * secret; rotating ADMIN_TOKEN invalidates links already sent.
 */
export function unsubscribeKey(adminToken: string): Buffer {
  return Buffer.from(hkdfSync('sha256', adminToken, 'personae', 'unsubscribe-link-v1', 32));
}

function uuidBytes(id: string): Buffer {
  if (!UUID.test(id)) throw new Error(`not a UUID: ${id}`);
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}

function uuidText(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function mac(key: Buffer, payload: Buffer): Buffer {
  return createHmac('sha256', key).update(payload).digest().subarray(0, MAC_BYTES);
}

/** `<payload>.<mac>`, both base64url: version, workspace, destination and address, HMAC-SHA256 signed. */
export function signUnsubscribeToken(key: Buffer, claim: UnsubscribeClaim): string {
  const payload = Buffer.concat([
    Buffer.from([VERSION]),
    uuidBytes(claim.workspaceId),
    uuidBytes(claim.destinationId),
    Buffer.from(claim.email.toLowerCase(), 'utf8'),
  ]);
  return `${payload.toString('base64url')}.${mac(key, payload).toString('base64url')}`;
}

/** The claim of a token this installation signed, or undefined for anything else. */
export function verifyUnsubscribeToken(key: Buffer, token: string): UnsubscribeClaim | undefined {
  const match = /^([A-Za-z0-9_-]{44,700})\.([A-Za-z0-9_-]{22})$/.exec(token);
  if (!match) return undefined;
  const payload = Buffer.from(match[1] ?? '', 'base64url');
  const given = Buffer.from(match[2] ?? '', 'base64url');
  if (given.length !== MAC_BYTES || !timingSafeEqual(given, mac(key, payload))) return undefined;
  if (payload[0] !== VERSION || payload.length < 34) return undefined;
  const email = payload.subarray(33).toString('utf8');
  if (!email.includes('@')) return undefined;
  return {
    workspaceId: uuidText(payload.subarray(1, 17)),
    destinationId: uuidText(payload.subarray(17, 33)),
    email,
  };
}
