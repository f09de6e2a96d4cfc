import fc from 'fast-check';

import { planClaims } from './transition-batches';

const batches = (...sizes: number[]) => sizes.map((transitions, i) => ({ id: `b${i}`, transitions }));

describe('planClaims', () => {
  it('gives a full batch a claim of its own and gathers small ones up to a request', () => {
    expect(planClaims(batches(1250, 1250, 500), 1250)).toEqual([['b0'], ['b1'], ['b2']]);
    expect(planClaims(batches(10, 20, 30), 1250)).toEqual([['b0', 'b1', 'b2']]);
    expect(planClaims(batches(1000, 300, 200), 1250)).toEqual([['b0'], ['b1', 'b2']]);
  });

  it('claims a batch bigger than a request alone', () => {
    expect(planClaims(batches(5, 2000, 5), 1250)).toEqual([['b0'], ['b1'], ['b2']]);
  });

  it('plans nothing for no batches', () => {
    expect(planClaims([], 1250)).toEqual([]);
  });

  it('keeps every batch once, in order, and no claim of several over the limit', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 60 }), (sizes) => {
        const given = batches(...sizes);
        const claims = planClaims(given, 1250);
        expect(claims.flat()).toEqual(given.map((b) => b.id));
        const size = new Map(given.map((b) => [b.id, b.transitions]));
        for (const claim of claims) {
          expect(claim.length).toBeGreaterThan(0);
          const total = claim.reduce((sum, id) => sum + size.get(id)!, 0);
          if (claim.length > 1) expect(total).toBeLessThanOrEqual(1250);
        }
        // Greedy: a claim could not have taken the next batch too.
        claims.slice(0, -1).forEach((claim, i) => {
          const total = claim.reduce((sum, id) => sum + size.get(id)!, 0);
          expect(total + size.get(claims[i + 1]![0]!)!).toBeGreaterThan(1250);
        });
      }),
    );
  });
});
