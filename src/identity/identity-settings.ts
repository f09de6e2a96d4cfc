/** Identity resolution settings of a workspace, read from `workspaces.settings.identity`. */

export interface ExtraIdentifier {
  /** Identity type stored in `identities.type`, e.g. `phone`. */
  type: string;
  /** Trait (in `traits` or `context.traits`) the value is read from, e.g. `phone`. */
  trait: string;
}

export interface IdentitySettings {
  extraIdentifiers: ExtraIdentifier[];
  /** Lower-cased values that never count as identifiers (Segment's blocked values). */
  blockedValues: string[];
  /** Most values of a type one profile may hold; a merge that would exceed it is refused. */
  limits: Record<string, number>;
  /** A profile that has absorbed this many others takes part in no further merges. */
  maxMergesPerProfile: number;
}

export const BUILT_IN_IDENTIFIER_TYPES = ['user_id', 'anonymous_id', 'email'] as const;

export const DEFAULT_BLOCKED_VALUES = ['null', 'undefined', 'anonymous', '0', '-1', ''];

export const DEFAULT_IDENTITY_SETTINGS: IdentitySettings = {
  extraIdentifiers: [],
  blockedValues: DEFAULT_BLOCKED_VALUES,
  limits: { user_id: 1 },
  maxMergesPerProfile: 100,
};

const TYPE_PATTERN = /^[a-z][a-z0-9_]{0,39}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads identity settings from a workspace's settings JSON. Ingestion must never fail because of a
 * malformed setting, so anything that does not fit the shape falls back to its default.
 */
export function identitySettingsFrom(workspaceSettings: unknown): IdentitySettings {
  const identity = isRecord(workspaceSettings) ? workspaceSettings.identity : undefined;
  if (!isRecord(identity)) return DEFAULT_IDENTITY_SETTINGS;

  const extraIdentifiers = Array.isArray(identity.extraIdentifiers)
    ? identity.extraIdentifiers.flatMap((entry): ExtraIdentifier[] => {
        if (!isRecord(entry) || typeof entry.type !== 'string' || typeof entry.trait !== 'string') return [];
        const type = entry.type.trim().toLowerCase();
        const builtIn = (BUILT_IN_IDENTIFIER_TYPES as readonly string[]).includes(type);
        return TYPE_PATTERN.test(type) && !builtIn && entry.trait.length > 0 ? [{ type, trait: entry.trait }] : [];
      })
    : [];

  const blockedValues = Array.isArray(identity.blockedValues)
    ? identity.blockedValues.filter((v): v is string => typeof v === 'string').map((v) => v.trim().toLowerCase())
    : DEFAULT_BLOCKED_VALUES;

  const limits: Record<string, number> = { ...DEFAULT_IDENTITY_SETTINGS.limits };
  if (isRecord(identity.limits)) {
    for (const [type, limit] of Object.entries(identity.limits)) {
      if (typeof limit === 'number' && Number.isInteger(limit) && limit > 0) limits[type] = limit;
      // `null` lifts a default limit.
      if (limit === null) delete limits[type];
    }
  }

  const cap = identity.maxMergesPerProfile;
  const maxMergesPerProfile =
    typeof cap === 'number' && Number.isInteger(cap) && cap >= 0 ? cap : DEFAULT_IDENTITY_SETTINGS.maxMergesPerProfile;

  return { extraIdentifiers, blockedValues, limits, maxMergesPerProfile };
}
