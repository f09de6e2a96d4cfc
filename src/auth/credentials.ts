import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** API tokens are shown once and stored as their SHA-256; they are long and random, so no salt is needed. */
export function newApiToken(): string {
  return `prs_${randomBytes(32).toString('base64url')}`;
}

export function newWriteKey(): string {
  return `wk_${randomBytes(24).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right);
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value ? /^Bearer\s+(\S+)\s*$/i.exec(value) : null;
  return match?.[1];
}
