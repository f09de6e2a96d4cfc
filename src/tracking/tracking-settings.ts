import { defineSection, SectionValues, setting, wholeNumber } from '../workspace-settings/settings-section';

/** Per-source event rate limit when the workspace sets none (events per second, per write key). */
export const DEFAULT_RATE_LIMIT_PER_SECOND = positiveInt(process.env.TRACKING_RATE_LIMIT_PER_SECOND) ?? 5_000;

/** How long a write key lookup (and its workspace settings) is trusted before it is read again. */
export const SOURCE_CACHE_TTL_MS = 10_000;
/** Unknown write keys are remembered for less time, so a key created a moment ago soon works. */
export const UNKNOWN_SOURCE_CACHE_TTL_MS = 2_000;

function positiveInt(value: unknown): number | undefined {
  const number = typeof value === 'string' ? Number(value) : value;
  return typeof number === 'number' && Number.isInteger(number) && number > 0 ? number : undefined;
}

/** The `tracking` section of workspace settings, e.g. `{"tracking": {"rateLimitPerSecond": 20000}}`. */
export const trackingSettingsSection = defineSection({
  rateLimitPerSecond: setting(
    wholeNumber(1, 1_000_000_000).describe('Events per second each source of the workspace may send.'),
    DEFAULT_RATE_LIMIT_PER_SECOND,
  ),
});

export type TrackingSettings = SectionValues<typeof trackingSettingsSection.fields>;
