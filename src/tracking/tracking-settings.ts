/** How long a write key lookup (and its workspace settings) is trusted before it is read again. */
export const SOURCE_CACHE_TTL_MS = 10_000;
/** Unknown write keys are remembered for less time, so a key created a moment ago soon works. */
export const UNKNOWN_SOURCE_CACHE_TTL_MS = 2_000;

export interface TrackingSettings {
  /** Events per second per source. */
  rateLimitPerSecond: number;
  /** Bytes of messages (as JSON) per second per source. */
  bytesPerSecond: number;
}

function positiveInt(value: unknown): number | undefined {
  const number = typeof value === 'string' ? Number(value) : value;
  return typeof number === 'number' && Number.isInteger(number) && number > 0 ? number : undefined;
}

/**
 * Reads `workspaces.settings.tracking`, e.g. `{"tracking": {"rateLimitPerSecond": 20000,
 * "bytesPerSecond": 20000000}}`; what it does not set comes from `defaults` (AppConfig).
 */
export function trackingSettingsFrom(workspaceSettings: unknown, defaults: TrackingSettings): TrackingSettings {
  const tracking =
    typeof workspaceSettings === 'object' && workspaceSettings !== null
      ? (workspaceSettings as Record<string, unknown>).tracking
      : undefined;
  const own = typeof tracking === 'object' && tracking !== null ? (tracking as Record<string, unknown>) : {};
  return {
    rateLimitPerSecond: positiveInt(own.rateLimitPerSecond) ?? defaults.rateLimitPerSecond,
    bytesPerSecond: positiveInt(own.bytesPerSecond) ?? defaults.bytesPerSecond,
  };
}
