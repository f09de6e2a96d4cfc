/**
 * Checks untrusted JSON (a request body's `definition`) against the trait AST with the audience
 * validator's checks for the parts the languages share, and returns a fresh copy built only from
 * checked fields, or every problem with the path of the offending field (`definition.window.kind`).
 */
import { AstValidator, AudienceValidationError, InvalidAstField } from '../../audiences/language/audience-language';
import { AGGREGATE_FUNCTIONS, EventScope, MAX_WEEKS, TRAIT_TYPES, TraitAst } from './trait-ast';

export type TraitValidationResult = { ok: true; ast: TraitAst } | { ok: false; errors: AudienceValidationError[] };

type Json = Record<string, unknown>;

const SCOPE_FIELDS = ['type', 'event', 'window', 'where'] as const;

class TraitValidator extends AstValidator {
  trait(value: unknown, path: string): TraitAst {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) this.fail(path, 'must be an object');
    const type = this.oneOf((value as Json).type, `${path}.type`, TRAIT_TYPES);
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
