import type { SplitStep } from './journey-definition';
import { assignVariant, bucketOf, quietUntil } from './journey-guardrails';

describe('journey guardrails', () => {
  it('assigns variants deterministically and in proportion', () => {
    const split: SplitStep = {
      id: 's',
      type: 'split',
      variants: [
        { key: 'a', percent: 45, next: null },
        { key: 'b', percent: 45, next: null },
      ],
      holdout: 10,
    };
    const counts: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++) {
      const profile = `00000000-0000-4000-8000-${i.toString().padStart(12, '0')}`;
      const variant = assignVariant(split, 'journey-1', profile);
      expect(assignVariant(split, 'journey-1', profile)).toBe(variant);
      counts[variant] = (counts[variant] ?? 0) + 1;
    }
    expect(counts.holdout! / 10_000).toBeCloseTo(0.1, 1);
    expect(counts.a! / 10_000).toBeCloseTo(0.45, 1);
    // Another journey shuffles people again: assignments of two journeys are independent.
    const differs = Array.from(
      { length: 100 },
      (_, i) => bucketOf('journey-1', `p${i}`) !== bucketOf('journey-2', `p${i}`),
    );
    expect(differs.filter(Boolean).length).toBeGreaterThan(80);
  });

  it('holds messages during quiet hours in the person’s zone, across midnight', () => {
    const quiet = { start: '21:00', end: '08:00', timezone: null };
    // 23:30 in Paris (UTC+1 in winter) waits until 08:00 Paris = 07:00 UTC.
    expect(quietUntil(quiet, new Date('2026-01-10T22:30:00Z'), 'Europe/Paris')?.toISOString()).toBe(
      '2026-01-11T07:00:00.000Z',
    );
    // 12:00 in Paris is fine.
    expect(quietUntil(quiet, new Date('2026-01-10T11:00:00Z'), 'Europe/Paris')).toBeNull();
    // 06:00 in New York (UTC-5) waits two hours.
    expect(quietUntil(quiet, new Date('2026-01-10T11:00:00Z'), 'America/New_York')?.toISOString()).toBe(
      '2026-01-10T13:00:00.000Z',
    );
    // A window inside one day.
    expect(
      quietUntil(
        { start: '12:00', end: '14:00', timezone: null },
        new Date('2026-01-10T13:00:00Z'),
        'UTC',
      )?.toISOString(),
    ).toBe('2026-01-10T14:00:00.000Z');
  });
});
