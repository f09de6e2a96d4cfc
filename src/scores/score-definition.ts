/**
 * What a score is, independent of storage: components (audience conditions at the score's level,
 * each worth points), bands (names for ranges of the total) and how often it is snapshotted. Pure:
 * reads and checks a definition as the API receives it, with problems that name the field
 * (`components[2].condition`, `bands[1].min`), and says which band a value falls in and which
 * period an instant belongs to.
 */
import { type AudienceAst, readAudienceDefinition } from '../audiences/language/audience-language';
import type { FieldProblem } from '../common/problems';

export const SCORE_LEVELS = ['profile', 'account'] as const;
export type ScoreLevel = (typeof SCORE_LEVELS)[number];

export const SNAPSHOT_PERIODS = ['daily', 'weekly', 'monthly'] as const;
export type SnapshotPeriod = (typeof SNAPSHOT_PERIODS)[number];

export const SCORE_LIMITS = { components: 20, bands: 10, points: 1_000, nameLength: 64 } as const;

/** Audiences read a score as `computed <key>`, its band as `computed <key>_band`. */
export const BAND_SUFFIX = '_band';
/** `computed <key>_change_<N>d`: the score now minus its snapshot of N days ago. */
export const CHANGE_KEY_PATTERN = /^(.+)_change_([1-9][0-9]{0,2})d$/;

export interface ScoreComponent {
  name: string;
  /** The canonical text of the condition. */
  condition: string;
  conditionAst: AudienceAst;
  /** A whole number from 1 to SCORE_LIMITS.points. */
  points: number;
}

export interface ScoreBand {
  name: string;
  /** The lowest score in the band (a whole number >= 0). */
  min: number;
}

export interface ScoreDefinition {
  components: ScoreComponent[];
  /** Highest `min` first; the last one's is 0, so every score has a band. */
  bands: ScoreBand[];
}

export type ReadResult<T> = { ok: true; value: T } | { ok: false; problems: FieldProblem[] };

/** The keys a score answers to in `computed …` besides its own. */
export function derivedKeys(key: string): string[] {
  return [`${key}${BAND_SUFFIX}`];
}

/** Problems with a score key beyond its pattern: the forms reserved for what it derives. */
export function keyProblems(key: string): FieldProblem[] {
  if (key.endsWith(BAND_SUFFIX) || CHANGE_KEY_PATTERN.test(key)) {
    return [
      {
        field: 'key',
        reason: `must not end in "${BAND_SUFFIX}" or "_change_<N>d": audiences read a score's band and change under those names`,
      },
    ];
  }
  return [];
}

/** Components and bands as sent, checked and made canonical. */
export function readScoreDefinition(
  input: { components: unknown; bands: unknown },
  level: ScoreLevel,
): ReadResult<ScoreDefinition> {
  const problems: FieldProblem[] = [];
  const components = readComponents(input.components, level, problems);
  const bands = readBands(input.bands, problems);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: { components, bands } };
}

function readComponents(input: unknown, level: ScoreLevel, problems: FieldProblem[]): ScoreComponent[] {
  if (!Array.isArray(input) || input.length === 0 || input.length > SCORE_LIMITS.components) {
    problems.push({
      field: 'components',
      reason: `must be a list of 1 to ${SCORE_LIMITS.components} components ({"name", "condition", "points"})`,
    });
    return [];
  }
  const components: ScoreComponent[] = [];
  const names = new Set<string>();
  input.forEach((item: unknown, i) => {
    const at = `components[${i}]`;
    if (!isObject(item)) {
      problems.push({ field: at, reason: 'must be an object with "name", "condition" and "points"' });
      return;
    }
    const name = readName(item.name, `${at}.name`, problems);
    if (name !== undefined) {
      if (names.has(name)) problems.push({ field: `${at}.name`, reason: `"${name}" names another component too` });
      names.add(name);
    }
    const points = item.points;
    if (typeof points !== 'number' || !Number.isInteger(points) || points < 1 || points > SCORE_LIMITS.points) {
      problems.push({ field: `${at}.points`, reason: `must be a whole number from 1 to ${SCORE_LIMITS.points}` });
    }
    let condition: { ast: AudienceAst; text: string } | undefined;
    if (item.condition === undefined || item.condition === null) {
      problems.push({ field: `${at}.condition`, reason: 'is required: an audience condition (text or JSON AST)' });
    } else {
      const read = readAudienceDefinition(item.condition, `${at}.condition`, level);
      if (read.ok) condition = { ast: read.ast, text: read.text };
      else problems.push(...read.errors.map((e) => ({ field: e.path, reason: e.message })));
    }
    if (name !== undefined && typeof points === 'number' && condition) {
      components.push({ name, condition: condition.text, conditionAst: condition.ast, points });
    }
  });
  return components;
}

function readBands(input: unknown, problems: FieldProblem[]): ScoreBand[] {
  if (!Array.isArray(input) || input.length === 0 || input.length > SCORE_LIMITS.bands) {
    problems.push({ field: 'bands', reason: `must be a list of 1 to ${SCORE_LIMITS.bands} bands ({"name", "min"})` });
    return [];
  }
  const bands: ScoreBand[] = [];
  const names = new Set<string>();
  const mins = new Set<number>();
  input.forEach((item: unknown, i) => {
    const at = `bands[${i}]`;
    if (!isObject(item)) {
      problems.push({ field: at, reason: 'must be an object with "name" and "min"' });
      return;
    }
    const name = readName(item.name, `${at}.name`, problems);
    if (name !== undefined) {
      if (names.has(name)) problems.push({ field: `${at}.name`, reason: `"${name}" names another band too` });
      names.add(name);
    }
    const min = item.min;
    if (typeof min !== 'number' || !Number.isInteger(min) || min < 0) {
      problems.push({ field: `${at}.min`, reason: 'must be a whole number >= 0' });
      return;
    }
    if (mins.has(min)) problems.push({ field: `${at}.min`, reason: `another band starts at ${min} too` });
    mins.add(min);
    if (name !== undefined) bands.push({ name, min });
  });
  if (bands.length === input.length && !mins.has(0)) {
    problems.push({
      field: 'bands',
      reason: 'must cover 0: the lowest band needs "min": 0, so every score has a band',
    });
  }
  return bands.sort((a, b) => b.min - a.min);
}

function readName(value: unknown, field: string, problems: FieldProblem[]): string | undefined {
  if (typeof value !== 'string' || value.trim() === '' || value.length > SCORE_LIMITS.nameLength) {
    problems.push({ field, reason: `must be a non-empty string of at most ${SCORE_LIMITS.nameLength} characters` });
    return undefined;
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The score of someone for whom these components hold. */
export function scoreOf(definition: ScoreDefinition, holds: readonly boolean[]): number {
  return definition.components.reduce((sum, component, i) => sum + (holds[i] ? component.points : 0), 0);
}

/** The band a score falls in: the one with the highest `min` at or below it. */
export function bandOf(bands: readonly ScoreBand[], value: number): string {
  const band = [...bands].sort((a, b) => b.min - a.min).find((b) => value >= b.min);
  if (!band) throw new Error(`no band covers ${value}`);
  return band.name;
}

/**
 * The start of the period `at` falls in, in UTC: the day, the week (Monday 00:00, as `weeks with`
 * in computed traits) or the month.
 */
export function periodStart(at: Date, period: SnapshotPeriod): Date {
  const day = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  switch (period) {
    case 'daily':
      return new Date(day);
    case 'weekly':
      return new Date(day - ((at.getUTCDay() + 6) % 7) * 86_400_000);
    case 'monthly':
      return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  }
}

/** Whether `computed <computedKey>` reads the score with key `scoreKey` (its value, band or change). */
export function readsScore(computedKey: string, scoreKey: string): boolean {
  if (computedKey === scoreKey || computedKey === `${scoreKey}${BAND_SUFFIX}`) return true;
  const change = CHANGE_KEY_PATTERN.exec(computedKey);
  return change?.[1] === scoreKey;
}

/**
 * The keys an account condition reads with `computed` about the account itself (outside member
 * conditions). Account-level computed values other than scores do not exist yet, and a score may
 * not read a score, so a score refuses them.
 */
export function topLevelComputedKeys(ast: AudienceAst): string[] {
  const keys: string[] = [];
  const visit = (node: AudienceAst): void => {
    if (node.type === 'computed') keys.push(node.trait);
    else if (node.type === 'and' || node.type === 'or') node.conditions.forEach(visit);
    else if (node.type === 'not') visit(node.condition);
  };
  visit(ast);
  return keys;
}
