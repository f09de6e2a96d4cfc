/**
 * Every section of a workspace's settings, stored sparsely in `workspaces.settings` (only what was
 * set) and read with defaults filled in. A feature adds its section here, defined next to its code
 * like identity-settings.ts, and nothing else changes: the API, the docs schema and the reading all
 * follow from this list.
 */
import { z } from 'zod';

import type { FieldProblem } from '../common/problems';
import { identitySettingsSection } from '../identity/identity-settings';
import { messagingSettingsSection } from '../journeys/messaging-settings';
import { trackingSettingsSection } from '../tracking/tracking-settings';
import {
  isPlainObject,
  patchSection,
  readSection,
  SectionFields,
  SectionValues,
  SettingsSection,
} from './settings-section';

export const WORKSPACE_SETTINGS_SECTIONS = {
  identity: identitySettingsSection,
  tracking: trackingSettingsSection,
  messaging: messagingSettingsSection,
};

type Sections = typeof WORKSPACE_SETTINGS_SECTIONS;
type SectionName = keyof Sections;

export type WorkspaceSettings = { [K in SectionName]: SectionValues<Sections[K]['fields']> };

const SECTION_NAMES = Object.keys(WORKSPACE_SETTINGS_SECTIONS) as SectionName[];

export const DEFAULT_WORKSPACE_SETTINGS = Object.fromEntries(
  SECTION_NAMES.map((name) => [name, WORKSPACE_SETTINGS_SECTIONS[name].defaults]),
) as WorkspaceSettings;

/** What is stored: sections by name, each holding only the settings that were set. */
export type StoredSettings = Record<string, Record<string, unknown>>;

function section(name: SectionName): SettingsSection<SectionFields> {
  return WORKSPACE_SETTINGS_SECTIONS[name];
}

function isSectionName(name: string): name is SectionName {
  return (SECTION_NAMES as string[]).includes(name);
}

function unknownSection(name: string): FieldProblem {
  return { field: name, reason: `is not a section of the settings (known: ${SECTION_NAMES.join(', ')})` };
}

/** The effective settings: stored values that fit, defaults for the rest, and what did not fit. */
export function readWorkspaceSettings(
  stored: unknown,
  defaults: WorkspaceSettings = DEFAULT_WORKSPACE_SETTINGS,
): { settings: WorkspaceSettings; problems: FieldProblem[] } {
  if (!isPlainObject(stored)) {
    const problems =
      stored === undefined || stored === null ? [] : [{ field: 'settings', reason: 'must be an object' }];
    return { settings: defaults, problems };
  }
  const problems: FieldProblem[] = Object.keys(stored)
    .filter((name) => !isSectionName(name))
    .map(unknownSection);
  const settings: Record<string, unknown> = {};
  for (const name of SECTION_NAMES) {
    const read = readSection(section(name), name, stored[name], defaults[name]);
    settings[name] = read.values;
    problems.push(...read.problems);
  }
  return { settings: settings as WorkspaceSettings, problems };
}

/**
 * Merges a PATCH into the stored settings: a section or setting that is absent stays as it is, a
 * value replaces it (lists and maps as a whole), null resets it to its default. Nothing is applied
 * when any part is invalid; every problem names its field.
 */
export function patchWorkspaceSettings(
  stored: unknown,
  patch: unknown,
): { ok: true; stored: StoredSettings } | { ok: false; problems: FieldProblem[] } {
  if (!isPlainObject(patch)) return { ok: false, problems: [{ field: 'body', reason: 'must be a JSON object' }] };
  const next: Record<string, unknown> = isPlainObject(stored) ? { ...stored } : {};
  const problems: FieldProblem[] = [];
  for (const [name, sectionPatch] of Object.entries(patch)) {
    if (!isSectionName(name)) {
      problems.push(unknownSection(name));
      continue;
    }
    const patched = patchSection(section(name), name, next[name], sectionPatch);
    problems.push(...patched.problems);
    if (patched.next) next[name] = patched.next;
    else delete next[name];
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, stored: next as StoredSettings };
}

/**
 * JSON Schema (OpenAPI 3.0) derived from the same schemas: of the effective settings (every
 * setting present), or of a PATCH body (any subset; null resets).
 */
export function workspaceSettingsJsonSchema(kind: 'effective' | 'patch'): Record<string, unknown> {
  const patch = kind === 'patch';
  const sections = Object.fromEntries(
    SECTION_NAMES.map((name) => {
      const fields = Object.entries(section(name).fields).map(([key, field]) => {
        return [key, patch ? field.schema.nullable().optional() : field.schema] as const;
      });
      const object = z.strictObject(Object.fromEntries(fields));
      return [name, patch ? object.nullable().optional() : object];
    }),
  );
  return z.toJSONSchema(z.strictObject(sections), { target: 'openapi-3.0', io: patch ? 'input' : 'output' });
}
