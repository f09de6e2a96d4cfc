/**
 * Checks untrusted JSON (a request body's `definition`) against the trait AST with the audience
 * validator's checks for the parts the languages share, and returns a fresh copy built only from
 * checked fields, or every problem with the path of the offending field (`definition.window.kind`).
 */
import { AstValidator, AudienceValidationError, InvalidAstField } from '../../audiences/language/audience-language';
import { ACCOUNT_TRAIT_TYPES, AccountTraitAst } from './account-trait-ast';
import { AGGREGATE_FUNCTIONS, EventScope, MAX_WEEKS, TRAIT_TYPES, TraitAst } from './trait-ast';

export type TraitValidationResult = { ok: true; ast: TraitAst } | { ok: false; errors: AudienceValidationError[] };
export type AccountTraitValidationResult =
  { ok: true; ast: AccountTraitAst } | { ok: false; errors: AudienceValidationError[] };

/** Profile trait keys, as the API accepts them (an account trait names one in `of_members`). */
const TRAIT_KEY = /^[a-z][a-z0-9_]{0,63}$/;

type Json = Record<string, unknown>;

const SCOPE_FIELDS = ['type', 'event', 'window', 'where'] as const;

class TraitValidator extends AstValidator {
  trait(value: unknown, path: string): TraitAst {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) this.fail(path, 'must be an object');
    const given = (value as Json).type;
    if ((ACCOUNT_TRAIT_TYPES as readonly unknown[]).includes(given)) {
      this.fail(`${path}.type`, `"${String(given)}" is an account-level trait: it needs "level": "account"`);
    }
    const type = this.oneOf(given, `${path}.type`, TRAIT_TYPES);
    switch (type) {
      case 'count':
        return { type, ...this.scope(this.object(value, path, SCOPE_FIELDS), path) };
      case 'aggregate': {
        const json = this.object(value, path, [...SCOPE_FIELDS, 'fn', 'property']);
        const fn = this.oneOf(json.fn, `${path}.fn`, AGGREGATE_FUNCTIONS);
        return { type, fn, ...this.property(json, path), ...this.scope(json, path) };
      }
      case 'first_value':
      case 'last_value':
      case 'most_frequent':
      case 'distinct':
      case 'count_distinct': {
        const json = this.object(value, path, [...SCOPE_FIELDS, 'property']);
        return { type, ...this.property(json, path), ...this.scope(json, path) };
      }
      case 'days_since_last': {
        const json = this.object(value, path, ['type', 'event', 'where']);
        const event = this.string(json.event, `${path}.event`, { nonEmpty: true });
        const where = this.optional(json, 'where', path, (v, p) => this.where(v, p));
        return { type, event, ...(where && { where }) };
      }
      case 'days_since_first_seen':
        this.object(value, path, ['type']);
        return { type };
      case 'weeks_with': {
        const json = this.object(value, path, ['type', 'event', 'weeks', 'where']);
        const event = this.string(json.event, `${path}.event`, { nonEmpty: true });
        const weeks = this.integer(json.weeks, `${path}.weeks`, 1, MAX_WEEKS);
        const where = this.optional(json, 'where', path, (v, p) => this.where(v, p));
        return { type, event, weeks, ...(where && { where }) };
      }
    }
  }

  accountTrait(value: unknown, path: string): AccountTraitAst {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) this.fail(path, 'must be an object');
    const given = (value as Json).type;
    if ((TRAIT_TYPES as readonly unknown[]).includes(given)) {
      this.fail(
        `${path}.type`,
        `"${String(given)}" is about one person: an account trait aggregates over members, e.g. {"type": "by_members", "of": {"type": "${String(given)}", …}}`,
      );
    }
    const type = this.oneOf(given, `${path}.type`, ACCOUNT_TRAIT_TYPES);
    switch (type) {
      case 'members':
      case 'days_since_created':
        this.object(value, path, ['type']);
        return { type };
      case 'active_members': {
        const json = this.object(value, path, ['type', 'window']);
        return { type, window: this.window(json.window, `${path}.window`) };
      }
      case 'of_members': {
        const json = this.object(value, path, ['type', 'fn', 'trait']);
        const fn = this.oneOf(json.fn, `${path}.fn`, AGGREGATE_FUNCTIONS);
        const trait = this.string(json.trait, `${path}.trait`, { nonEmpty: true });
        if (!TRAIT_KEY.test(trait)) this.fail(`${path}.trait`, 'must be the key of a profile-level computed trait');
        return { type, fn, trait };
      }
      case 'by_members': {
        const json = this.object(value, path, ['type', 'of']);
        const of = this.trait(json.of, `${path}.of`);
        if (of.type === 'days_since_first_seen') {
          this.fail(`${path}.of.type`, 'an account has no first seen: say {"type": "days_since_created"}');
        }
        return { type, of: of };
      }
    }
  }

  private scope(json: Json, path: string): EventScope {
    const event = this.string(json.event, `${path}.event`, { nonEmpty: true });
    const window = this.optional(json, 'window', path, (v, p) => this.window(v, p));
    const where = this.optional(json, 'where', path, (v, p) => this.where(v, p));
    return { event, ...(window && { window }), ...(where && { where }) };
  }

  private property(json: Json, path: string): { property: string[] } {
    return { property: this.path(json.property, `${path}.property`) };
  }
}

export function validateTraitAst(json: unknown, root = 'definition'): TraitValidationResult {
  const validator = new TraitValidator();
  let ast: TraitAst | undefined;
  try {
    ast = validator.trait(json, root);
  } catch (error) {
    if (!(error instanceof InvalidAstField)) throw error;
  }
  if (ast === undefined || validator.errors.length > 0) return { ok: false, errors: validator.errors };
  return { ok: true, ast };
}

export function validateAccountTraitAst(json: unknown, root = 'definition'): AccountTraitValidationResult {
  const validator = new TraitValidator();
  let ast: AccountTraitAst | undefined;
  try {
    ast = validator.accountTrait(json, root);
  } catch (error) {
    if (!(error instanceof InvalidAstField)) throw error;
  }
  if (ast === undefined || validator.errors.length > 0) return { ok: false, errors: validator.errors };
  return { ok: true, ast };
}
