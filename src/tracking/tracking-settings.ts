import { defineSection, SectionValues, setting, wholeNumber } from '../workspace-settings/settings-section';

/** How long a write key lookup (and its workspace settings) is trusted before it is read again. */
export const SOURCE_CACHE_TTL_MS = 10_000;
/** Unknown write keys are remembered for less time, so a key created a moment ago soon works. */
export const UNKNOWN_SOURCE_CACHE_TTL_MS = 2_000;

/**
 * The `tracking` section of workspace settings, e.g.
 * `{"tracking": {"rateLimitPerSecond": 20000, "bytesPerSecond": 20000000}}`. The defaults here are
 * the built-in ones; the installation's (TRACKING_RATE_LIMIT_PER_SECOND,
 * TRACKING_RATE_LIMIT_BYTES_PER_SECOND) replace them in WorkspaceSettingsService.
 */
export const trackingSettingsSection = defineSection({
  rateLimitPerSecond: setting(
    wholeNumber(1, 1_000_000_000).describe('Events per second each source of the workspace may send.'),
    5_000,
  ),
  bytesPerSecond: setting(
    wholeNumber(1, 1_000_000_000_000).describe('Bytes of messages (as JSON) per second each source may send.'),
    10_000_000,
  ),
});

export type TrackingSettings = SectionValues<typeof trackingSettingsSection.fields>;
