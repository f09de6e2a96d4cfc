/**
 * A section of workspace settings (`identity`, `tracking`, …): one zod schema and one default per
 * setting. The same schemas read what is stored and check what PATCH sends, so a value the API
 * accepts is exactly a value ingestion can use, and a stored value that no longer fits is reported
 * by name instead of silently replaced.
 */
import { z } from 'zod';

import type { FieldProblem } from '../common/problems';

export interface Setting<T extends z.ZodType> {
  schema: T;
  default: z.output<T>;
}

export type SectionFields = Record<string, Setting<z.ZodType>>;

export type SectionValues<F extends SectionFields> = { -readonly [K in keyof F]: z.output<F[K]['schema']> };

export interface SettingsSection<F extends SectionFields> {
  fields: F;
  defaults: SectionValues<F>;
}

export function setting<T extends z.ZodType>(schema: T, defaultValue: z.output<T>): Setting<T> {
  return { schema, default: defaultValue };
}

export function defineSection<F extends SectionFields>(fields: F): SettingsSection<F> {
  const defaults = Object.fromEntries(Object.entries(fields).map(([key, field]) => [key, field.default]));
  return { fields, defaults: defaults as SectionValues<F> };
}

/** Building blocks with the project's wording of reasons (`must be at most 100`). */
export function wholeNumber(min: number, max: number) {
  return z
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });
}

export function text(maxLength: number, { nonEmpty = false } = {}) {
  return z
    .string({ error: 'must be a string' })
    .min(nonEmpty ? 1 : 0, { error: 'must not be empty' })
    .max(maxLength, { error: `must be at most ${maxLength} characters` });
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `identity`, `extraIdentifiers`, 0, `type` → `identity.extraIdentifiers[0].type`. */
export function fieldPath(parts: readonly PropertyKey[]): string {
  return parts
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
    .join('');
}

/** zod's issues as `{field, reason}`, each field a full path from the settings root. */
export function issueProblems(issues: readonly z.core.$ZodIssue[], at: readonly PropertyKey[]): FieldProblem[] {
  return issues.flatMap((issue): FieldProblem[] => {
    const path = [...at, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: fieldPath([...path, key]), reason: 'is not a known field' }));
    }
    if (issue.code === 'invalid_key') {
      return issueProblems(issue.issues, path).map((problem) => ({
        ...problem,
        reason: `is not a valid key: ${problem.reason}`,
      }));
    }
    // Every schema here words its own messages (`must be at least 1`).
    return [{ field: fieldPath(path), reason: issue.message }];
  });
}

function unknownKey(at: string, key: string, fields: SectionFields): FieldProblem {
  return { field: fieldPath([at, key]), reason: `is not a setting (known: ${Object.keys(fields).join(', ')})` };
}

/**
 * The section's values from what is stored: each stored setting that fits its schema, the default
 * for the rest. Every stored value that does not fit, and every unknown one, is a problem.
 */
export function readSection<F extends SectionFields>(
  section: SettingsSection<F>,
  at: string,
  stored: unknown,
  defaults: SectionValues<F> = section.defaults,
): { values: SectionValues<F>; problems: FieldProblem[] } {
  if (stored === undefined) return { values: defaults, problems: [] };
  if (!isPlainObject(stored)) return { values: defaults, problems: [{ field: at, reason: 'must be an object' }] };
  const values: Record<string, unknown> = { ...defaults };
  const problems: FieldProblem[] = [];
  for (const [key, value] of Object.entries(stored)) {
    const field = section.fields[key];
    if (!field) {
      problems.push(unknownKey(at, key, section.fields));
      continue;
    }
    const parsed = field.schema.safeParse(value);
    if (parsed.success) values[key] = parsed.data;
    else problems.push(...issueProblems(parsed.error.issues, [at, key]));
  }
  return { values: values as SectionValues<F>, problems };
}

/**
 * Applies a PATCH to the stored section: a value sets a setting (checked by its schema), null
 * resets it to its default, absent keys stay as they are. `next` is undefined when nothing is left
 * stored, so stored settings only ever hold what differs from the defaults' source.
 */
export function patchSection(
  section: SettingsSection<SectionFields>,
  at: string,
  stored: unknown,
  patch: unknown,
): { next: Record<string, unknown> | undefined; problems: FieldProblem[] } {
  if (patch === null) return { next: undefined, problems: [] };
  if (!isPlainObject(patch)) return { next: undefined, problems: [{ field: at, reason: 'must be an object or null' }] };
  const next: Record<string, unknown> = isPlainObject(stored) ? { ...stored } : {};
  const problems: FieldProblem[] = [];
  for (const [key, value] of Object.entries(patch)) {
    const field = section.fields[key];
    if (!field) {
      problems.push(unknownKey(at, key, section.fields));
    } else if (value === null) {
      delete next[key];
    } else {
      const parsed = field.schema.safeParse(value);
      if (parsed.success) next[key] = parsed.data;
      else problems.push(...issueProblems(parsed.error.issues, [at, key]));
    }
  }
  return { next: Object.keys(next).length > 0 ? next : undefined, problems };
}
