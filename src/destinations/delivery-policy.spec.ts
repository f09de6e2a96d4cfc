import { ATTEMPT_BUDGET_MS, backoffMs, claimNeedsRenewal, LEASE_MS, retryAfterMs } from './delivery-policy';

describe('delivery policy', () => {
  it('backs off exponentially with jitter between half and all of the ceiling', () => {
    expect(backoffMs(1, () => 0)).toBe(1_000);
    expect(backoffMs(1, () => 1)).toBe(2_000);
    expect(backoffMs(2, () => 0)).toBe(4_000);
    expect(backoffMs(3, () => 1)).toBe(32_000);
    expect(backoffMs(20, () => 1)).toBe(3_600_000);
  });

  it('reads Retry-After in seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('7', now)).toBe(7_000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('999999', now)).toBe(3_600_000);
  });

  it('renews a claim once what is left of it could not cover a whole attempt', () => {
    expect(ATTEMPT_BUDGET_MS).toBeLessThan(LEASE_MS);
    const spare = LEASE_MS - ATTEMPT_BUDGET_MS;
    expect(claimNeedsRenewal(1_000, 1_000)).toBe(false);
    expect(claimNeedsRenewal(1_000, 1_000 + spare)).toBe(false);
    expect(claimNeedsRenewal(1_000, 1_000 + spare + 1)).toBe(true);
  });
});

describe('even rate limiter', () => {
  it('spreads a per-second rate over windows of at most 20 a second', async () => {
    const { evenLimiter } = await import('./delivery-workers.service');
    expect(evenLimiter(4)).toEqual({ max: 1, duration: 250 });
    expect(evenLimiter(1)).toEqual({ max: 1, duration: 1000 });
    expect(evenLimiter(100)).toEqual({ max: 5, duration: 50 });
    expect(evenLimiter(3)).toEqual({ max: 1, duration: 333 });
  });
});
