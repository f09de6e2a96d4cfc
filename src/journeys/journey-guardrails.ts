/**
 * Pure rules of the runner: which variant of a split a person gets, and when quiet hours let a
 * message go. No I/O, so they are tested on their own (journey-guardrails.spec.ts).
 */
import { createHash } from 'node:crypto';

import type { QuietHours, SplitStep } from './journey-definition';

export const HOLDOUT = 'holdout';

/** 0–99, the same for a person and journey on every machine and every evaluation. */
export function bucketOf(journeyId: string, profileId: string): number {
  const digest = createHash('sha256').update(`${journeyId}/${profileId}`).digest();
  return digest.readUInt32BE(0) % 100;
}

/** Variants take consecutive ranges of buckets in their order; the holdout takes the rest. */
export function assignVariant(step: SplitStep, journeyId: string, profileId: string): string {
  const bucket = bucketOf(journeyId, profileId);
  let upTo = 0;
  for (const variant of step.variants) {
    upTo += variant.percent;
    if (bucket < upTo) return variant.key;
  }
  return HOLDOUT;
}

function minutesOf(time: string): number {
  const [hours, minutes] = time.split(':').map(Number);
  return (hours ?? 0) * 60 + (minutes ?? 0);
}

/** Minutes since local midnight in `zone` (UTC when the zone is unknown). */
function localMinutes(at: Date, zone: string): number {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).formatToParts(at);
  } catch {
    return at.getUTCHours() * 60 + at.getUTCMinutes();
  }
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  return hour * 60 + minute;
}

/**
 * When a message due at `at` may go: null when now is outside the quiet hours, else the end of
 * the quiet hours in the person's zone (to the minute). Windows may wrap midnight (21:00–08:00).
 */
export function quietUntil(quiet: QuietHours, at: Date, zone: string): Date | null {
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  const now = localMinutes(at, zone);
  const inside = start < end ? now >= start && now < end : now >= start || now < end;
  if (!inside) return null;
  const wait = (end - now + 1440) % 1440;
  const result = new Date(at.getTime() + wait * 60_000);
  result.setUTCSeconds(0, 0);
  return result;
}
