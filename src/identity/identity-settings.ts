/** Identity resolution settings of a workspace: the `identity` section of its settings. */
import { z } from 'zod';

import { defineSection, SectionValues, setting, text, wholeNumber } from '../workspace-settings/settings-section';

export const BUILT_IN_IDENTIFIER_TYPES = ['user_id', 'anonymous_id', 'email'] as const;

export const DEFAULT_BLOCKED_VALUES = ['null', 'undefined', 'anonymous', '0', '-1', ''];

const TYPE_PATTERN = /^[a-z][a-z0-9_]{0,39}$/;
const TYPE_RULE = 'must be a name of lower-case letters, digits and _ that starts with a letter (at most 40)';

/** An identity type as stored in `identities.type`, e.g. `phone`; compared lower-cased. */
const identifierType = z
  .string({ error: 'must be a string' })
  .trim()
  .toLowerCase()
  .regex(TYPE_PATTERN, { error: TYPE_RULE });

const extraIdentifier = z.strictObject(
  {
    type: identifierType.refine((type) => !(BUILT_IN_IDENTIFIER_TYPES as readonly string[]).includes(type), {
      error: `must not be a built-in type (${BUILT_IN_IDENTIFIER_TYPES.join(', ')})`,
    }),
    /** Trait (in `traits` or `context.traits`) the value is read from, e.g. `phone`. */
    trait: text(200, { nonEmpty: true }),
  },
  { error: 'must be an object {"type", "trait"}' },
);

export const identitySettingsSection = defineSection({
  extraIdentifiers: setting(
    z
      .array(extraIdentifier, { error: 'must be an array' })
      .max(20, { error: 'must have at most 20 items' })
      .refine((list) => new Set(list.map((entry) => entry.type)).size === list.length, {
        error: 'must not name a type twice',
      })
      .describe('Identifier types read from a trait, e.g. [{"type": "phone", "trait": "phone"}].'),
    [],
  ),
  blockedValues: setting(
    z
      .array(text(200).trim().toLowerCase(), { error: 'must be an array' })
      .max(1_000, { error: 'must have at most 1000 items' })
      .describe(
        'Values never used as identifiers, compared trimmed and case-insensitively; replaces the default list.',
      ),
    DEFAULT_BLOCKED_VALUES,
  ),
  limits: setting(
    z
      .record(identifierType, wholeNumber(1, 1_000), { error: 'must be an object of type → number' })
      .describe('Most values of a type one profile may hold; a type left out has no limit. Replaces the default.'),
    { user_id: 1 },
  ),
  maxMergesPerProfile: setting(
    wholeNumber(0, 1_000_000).describe('A profile that has absorbed this many others takes part in no further merges.'),
    100,
  ),
});

export type IdentitySettings = SectionValues<typeof identitySettingsSection.fields>;

export const DEFAULT_IDENTITY_SETTINGS: IdentitySettings = identitySettingsSection.defaults;
