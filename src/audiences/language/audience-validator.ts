/**
 * Checks untrusted JSON (an API request body) against the audience AST and returns a fresh copy
 * built only from the checked fields, or every problem found with the path of the offending field.
 */
import {
  AudienceAst,
  AudienceCondition,
  COMPARISON_OPS,
  COUNT_OPS,
  CountClause,
  DateLiteral,
  Duration,
  DURATION_UNITS,
  LEVEL_OF_CONDITION,
  Literal,
  MEMBER_QUANTIFIERS,
  PropertyFilter,
  SECONDS_PER_UNIT,
  SequenceStep,
  SubjectLevel,
  TimeWindow,
  ValueTest,
} from './audience-ast';
import { isValidDateLiteral, parseInstant } from './audience-values';

export interface AudienceValidationError {
  /** Where the problem is, e.g. `definition.conditions[1].count.value`. */
  path: string;
  message: string;
}

export type AudienceValidationResult =
  { ok: true; ast: AudienceAst } | { ok: false; errors: AudienceValidationError[] };

export const AUDIENCE_LIMITS = {
  maxDepth: 32,
  maxConditions: 100,
  maxFilters: 50,
  maxListValues: 1_000,
  maxPathSegments: 32,
  maxSequenceSteps: 10,
  maxStringLength: 1_000,
  maxCount: 1_000_000,
  /** Windows longer than a century say nothing useful and risk date arithmetic overflow. */
  maxDurationSeconds: 100 * 366 * 86_400,
} as const;

const CONDITION_TYPES = [
  'performed',
  'not_performed',
  'first_performed',
  'last_performed',
  'active',
  'inactive',
  'first_seen',
  'last_seen',
  'trait',
  'computed',
  'sequence',
  'in_audience',
  'members',
  'member_count',
  'created',
  'and',
  'or',
  'not',
] as const;

const VALUE_OPS = [...COMPARISON_OPS, 'contains', 'starts_with', 'exists', 'in', 'within', 'before'] as const;

const LONE_SURROGATE = /\p{Cs}/u;

/** Thrown inside the walk to abandon a subtree after its error has been recorded. */
export class Invalid extends Error {}

type Json = Record<string, unknown>;

/** The checks of untrusted AST JSON, also used by languages of the same family (computed traits). */
export class Validator {
  readonly errors: AudienceValidationError[] = [];

  fail(path: string, message: string): never {
    this.errors.push({ path, message });
    throw new Invalid();
  }

  /** Runs `check`, recording its error but carrying on with the siblings. */
  attempt<T>(check: () => T): T | undefined {
    try {
      return check();
    } catch (error) {
      if (error instanceof Invalid) return undefined;
      throw error;
    }
  }

  object(value: unknown, path: string, allowed: readonly string[]): Json {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) this.fail(path, 'must be an object');
    const json = value as Json;
    const unknown = Object.keys(json).filter((key) => !allowed.includes(key));
    if (unknown.length > 0)
      this.fail(`${path}.${unknown[0]}`, `is not a known field (expected one of ${allowed.join(', ')})`);
    return json;
  }

  oneOf<T extends string>(value: unknown, path: string, options: readonly T[]): T {
    if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) {
      this.fail(path, `must be one of ${options.map((o) => `"${o}"`).join(', ')}`);
    }
    return value as T;
  }

  string(value: unknown, path: string, { nonEmpty }: { nonEmpty: boolean }): string {
    if (typeof value !== 'string') this.fail(path, 'must be a string');
    if (nonEmpty && value.length === 0) this.fail(path, 'must not be empty');
    if (value.length > AUDIENCE_LIMITS.maxStringLength) {
      this.fail(path, `must be at most ${AUDIENCE_LIMITS.maxStringLength} characters`);
    }
    // Postgres text cannot hold NUL, and a lone surrogate would be changed on its way to the database.
    if (value.includes('\u0000')) this.fail(path, 'must not contain the NUL character');
    if (LONE_SURROGATE.test(value)) this.fail(path, 'must be well-formed Unicode');
    return value;
  }

  integer(value: unknown, path: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value)) this.fail(path, 'must be a whole number');
    if (value < min || value > max) this.fail(path, `must be between ${min} and ${max}`);
    // -0 would print as 0; one spelling of zero keeps print/parse round trips exact.
    return value === 0 ? 0 : value;
  }

  array(value: unknown, path: string, min: number, max: number): unknown[] {
    if (!Array.isArray(value)) this.fail(path, 'must be an array');
    if (value.length < min) this.fail(path, `must have at least ${min} item${min === 1 ? '' : 's'}`);
    if (value.length > max) this.fail(path, `must have at most ${max} items`);
    return value;
  }

  /** Validates every item, collecting all errors, and fails the whole list if any item failed. */
  items<T>(list: unknown[], path: string, check: (item: unknown, itemPath: string) => T): T[] {
    const before = this.errors.length;
    const out = list.map((item, i) => this.attempt(() => check(item, `${path}[${i}]`)));
    if (this.errors.length > before) throw new Invalid();
    return out as T[];
  }

  duration(value: unknown, path: string): Duration {
    const json = this.object(value, path, ['amount', 'unit']);
    const unit = this.oneOf(json.unit, `${path}.unit`, DURATION_UNITS);
    const maxAmount = Math.floor(AUDIENCE_LIMITS.maxDurationSeconds / SECONDS_PER_UNIT[unit]);
    const amount = this.integer(json.amount, `${path}.amount`, 1, maxAmount);
    return { amount, unit };
  }

  dateString(value: unknown, path: string): string {
    const text = this.string(value, path, { nonEmpty: true });
    if (!isValidDateLiteral(text)) {
      this.fail(path, 'must be a date (2026-01-31) or a date-time (2026-01-31T10:00:00Z, offset ±HH:MM)');
    }
    return text;
  }

  window(value: unknown, path: string): TimeWindow {
    const kind = this.oneOf(this.object(value, path, ['kind', 'duration', 'from', 'to']).kind, `${path}.kind`, [
      'within',
      'before',
      'between',
    ] as const);
    if (kind === 'between') {
      const json = this.object(value, path, ['kind', 'from', 'to']);
      const from = this.dateString(json.from, `${path}.from`);
      const to = this.dateString(json.to, `${path}.to`);
      if ((parseInstant(from) ?? 0) >= (parseInstant(to) ?? 0)) this.fail(`${path}.to`, 'must be after from');
      return { kind, from, to };
    }
    const json = this.object(value, path, ['kind', 'duration']);
    return { kind, duration: this.duration(json.duration, `${path}.duration`) };
  }

  count(value: unknown, path: string): CountClause {
    const json = this.object(value, path, ['op', 'value']);
    return {
      op: this.oneOf(json.op, `${path}.op`, COUNT_OPS),
      value: this.integer(json.value, `${path}.value`, 0, AUDIENCE_LIMITS.maxCount),
    };
  }

  literal(value: unknown, path: string): Literal {
    if (typeof value === 'string') return this.string(value, path, { nonEmpty: false });
    if (typeof value === 'boolean') return value;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) this.fail(path, 'must be a finite number');
      return value;
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const json = this.object(value, path, ['date']);
      const date: DateLiteral = { date: this.dateString(json.date, `${path}.date`) };
      return date;
    }
    return this.fail(path, 'must be a string, a number, a boolean or {"date": "2026-01-31"}');
  }

  /** The value test of a trait or filter; `fields` are the other keys the enclosing object may have. */
  valueTest(json: Json, path: string, fields: readonly string[]): ValueTest {
    const op = this.oneOf(json.op, `${path}.op`, VALUE_OPS);
    switch (op) {
      case 'eq':
      case 'neq':
        this.object(json, path, [...fields, 'op', 'value']);
        return { op, value: this.literal(json.value, `${path}.value`) };
      case 'lt':
      case 'lte':
      case 'gt':
      case 'gte': {
        this.object(json, path, [...fields, 'op', 'value']);
        const value = this.literal(json.value, `${path}.value`);
        if (typeof value === 'boolean') this.fail(`${path}.value`, `cannot be a boolean with ${op}`);
        return { op, value };
      }
      case 'contains':
      case 'starts_with':
        this.object(json, path, [...fields, 'op', 'value']);
        if (typeof json.value !== 'string') this.fail(`${path}.value`, `must be a string with ${op}`);
        return { op, value: this.string(json.value, `${path}.value`, { nonEmpty: false }) };
      case 'exists':
        this.object(json, path, [...fields, 'op']);
        return { op };
      case 'in': {
        this.object(json, path, [...fields, 'op', 'values']);
        const list = this.array(json.values, `${path}.values`, 0, AUDIENCE_LIMITS.maxListValues);
        return { op, values: this.items(list, `${path}.values`, (item, p) => this.literal(item, p)) };
      }
      case 'within':
      case 'before':
        this.object(json, path, [...fields, 'op', 'duration']);
        return { op, duration: this.duration(json.duration, `${path}.duration`) };
    }
  }

  path(value: unknown, path: string): string[] {
    const list = this.array(value, path, 1, AUDIENCE_LIMITS.maxPathSegments);
    return this.items(list, path, (item, p) => this.string(item, p, { nonEmpty: false }));
  }

  filter(value: unknown, path: string): PropertyFilter {
    const json = this.object(value, path, ['path', 'op', 'value', 'values', 'duration']);
    const filterPath = this.attempt(() => this.path(json.path, `${path}.path`));
    const test = this.valueTest(json, path, ['path']);
    if (filterPath === undefined) throw new Invalid();
    return { path: filterPath, ...test };
  }

  where(value: unknown, path: string): PropertyFilter[] {
    const list = this.array(value, path, 1, AUDIENCE_LIMITS.maxFilters);
    return this.items(list, path, (item, p) => this.filter(item, p));
  }

  step(value: unknown, path: string): SequenceStep {
    const json = this.object(value, path, ['event', 'where']);
    const step: SequenceStep = { event: this.string(json.event, `${path}.event`, { nonEmpty: true }) };
    if (json.where !== undefined) step.where = this.where(json.where, `${path}.where`);
    return step;
  }

  /** Checks the optional fields in order and only adds the present ones. */
  optional<T>(json: Json, key: string, path: string, check: (value: unknown, path: string) => T): T | undefined {
    return json[key] === undefined ? undefined : check(json[key], `${path}.${key}`);
  }

  condition(value: unknown, path: string, depth: number, level: SubjectLevel): AudienceCondition {
    if (depth > AUDIENCE_LIMITS.maxDepth) this.fail(path, `nests deeper than ${AUDIENCE_LIMITS.maxDepth} levels`);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) this.fail(path, 'must be an object');
    const type = this.oneOf((value as Json).type, `${path}.type`, CONDITION_TYPES);
    const belongs = LEVEL_OF_CONDITION[type];
    if (belongs !== 'both' && belongs !== level) {
      this.fail(
        `${path}.type`,
        level === 'account'
          ? `"${type}" is a condition on a person, not on an account: put it in a member condition ({"type": "members", "quantifier": "any", "condition": …})`
          : `"${type}" is a condition on an account, for account audiences ("level": "account")`,
      );
    }
    switch (type) {
      case 'performed': {
        const json = this.object(value, path, ['type', 'event', 'count', 'window', 'where']);
        const event = this.string(json.event, `${path}.event`, { nonEmpty: true });
        const count = this.optional(json, 'count', path, (v, p) => this.count(v, p));
        const window = this.optional(json, 'window', path, (v, p) => this.window(v, p));
        const where = this.optional(json, 'where', path, (v, p) => this.where(v, p));
        return { type, event, ...(count && { count }), ...(window && { window }), ...(where && { where }) };
      }
      case 'not_performed': {
        const json = this.object(value, path, ['type', 'event', 'window', 'where']);
        const event = this.string(json.event, `${path}.event`, { nonEmpty: true });
        const window = this.optional(json, 'window', path, (v, p) => this.window(v, p));
        const where = this.optional(json, 'where', path, (v, p) => this.where(v, p));
        return { type, event, ...(window && { window }), ...(where && { where }) };
      }
      case 'first_performed':
      case 'last_performed': {
        const json = this.object(value, path, ['type', 'event', 'window', 'where']);
        const event = this.string(json.event, `${path}.event`, { nonEmpty: true });
        const window = this.window(json.window, `${path}.window`);
        const where = this.optional(json, 'where', path, (v, p) => this.where(v, p));
        return { type, event, window, ...(where && { where }) };
      }
      case 'active':
      case 'first_seen':
      case 'last_seen': {
        const json = this.object(value, path, ['type', 'window']);
        return { type, window: this.window(json.window, `${path}.window`) };
      }
      case 'inactive': {
        const json = this.object(value, path, ['type', 'duration']);
        return { type, duration: this.duration(json.duration, `${path}.duration`) };
      }
      case 'trait': {
        const json = this.object(value, path, ['type', 'path', 'op', 'value', 'values', 'duration']);
        const traitPath = this.attempt(() => this.path(json.path, `${path}.path`));
        const test = this.valueTest(json, path, ['type', 'path']);
        if (traitPath === undefined) throw new Invalid();
        return { type, path: traitPath, ...test };
      }
      case 'computed': {
        const json = this.object(value, path, ['type', 'trait', 'op', 'value', 'values', 'duration']);
        const trait = this.attempt(() => this.string(json.trait, `${path}.trait`, { nonEmpty: true }));
        const test = this.valueTest(json, path, ['type', 'trait']);
        if (trait === undefined) throw new Invalid();
        return { type, trait, ...test };
      }
      case 'sequence': {
        const json = this.object(value, path, ['type', 'steps', 'notFollowedBy', 'conversionWindow']);
        const list = this.array(json.steps, `${path}.steps`, 1, AUDIENCE_LIMITS.maxSequenceSteps);
        const steps = this.items(list, `${path}.steps`, (item, p) => this.step(item, p));
        const notFollowedBy = this.optional(json, 'notFollowedBy', path, (v, p) => this.step(v, p));
        if (steps.length < 2 && !notFollowedBy) {
          this.fail(`${path}.steps`, 'must have at least 2 steps, or 1 step and notFollowedBy');
        }
        const conversionWindow = this.optional(json, 'conversionWindow', path, (v, p) => this.duration(v, p));
        return { type, steps, ...(notFollowedBy && { notFollowedBy }), ...(conversionWindow && { conversionWindow }) };
      }
      case 'in_audience': {
        const json = this.object(value, path, ['type', 'audience']);
        return { type, audience: this.string(json.audience, `${path}.audience`, { nonEmpty: true }) };
      }
      case 'and':
      case 'or': {
        const json = this.object(value, path, ['type', 'conditions']);
        const list = this.array(json.conditions, `${path}.conditions`, 2, AUDIENCE_LIMITS.maxConditions);
        return {
          type,
          conditions: this.items(list, `${path}.conditions`, (c, p) => this.condition(c, p, depth + 1, level)),
        };
      }
      case 'not': {
        const json = this.object(value, path, ['type', 'condition']);
        return { type, condition: this.condition(json.condition, `${path}.condition`, depth + 1, level) };
      }
      case 'members': {
        const json = this.object(value, path, ['type', 'quantifier', 'condition']);
        const quantifier = this.oneOf(json.quantifier, `${path}.quantifier`, MEMBER_QUANTIFIERS);
        return {
          type,
          quantifier,
          condition: this.condition(json.condition, `${path}.condition`, depth + 1, 'profile'),
        };
      }
      case 'member_count': {
        const json = this.object(value, path, ['type', 'op', 'value']);
        const op = this.oneOf(json.op, `${path}.op`, COUNT_OPS);
        return { type, op, value: this.integer(json.value, `${path}.value`, 0, AUDIENCE_LIMITS.maxCount) };
      }
      case 'created': {
        const json = this.object(value, path, ['type', 'window']);
        return { type, window: this.window(json.window, `${path}.window`) };
      }
    }
  }
}

/**
 * Validates an audience definition received as JSON. `root` names the field it came in, so paths
 * read like `definition.conditions[1].count.value`.
 */
export function validateAudienceAst(
  json: unknown,
  root = 'definition',
  level: SubjectLevel = 'profile',
): AudienceValidationResult {
  const validator = new Validator();
  const ast = validator.attempt(() => validator.condition(json, root, 1, level));
  if (ast === undefined || validator.errors.length > 0) return { ok: false, errors: validator.errors };
  return { ok: true, ast };
}
