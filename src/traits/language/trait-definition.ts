import { AudienceParseError, AudienceValidationError } from '../../audiences/language/audience-language';
import { AccountTraitAst } from './account-trait-ast';
import { printAccountTrait } from './account-trait-printer';
import { TraitAst } from './trait-ast';
import { parseAccountTrait, parseTrait } from './trait-parser';
import { printTrait } from './trait-printer';
import { validateAccountTraitAst, validateTraitAst } from './trait-validator';

export type TraitDefinitionResult =
  { ok: true; ast: TraitAst; text: string } | { ok: false; errors: AudienceValidationError[] };

/**
 * Reads a definition as the API receives it, text or JSON AST, and returns both forms (the text
 * printed from the AST, so it is canonical) or errors naming the field:
 * `{ path: "definition", message: "line 1, col 7: expected an event name in double quotes" }`.
 */
export function readTraitDefinition(definition: unknown, field = 'definition'): TraitDefinitionResult {
  if (typeof definition === 'string') {
    try {
      const parsed = parseTrait(definition);
      // Limits that span the tree (filters per event, list sizes) are the validator's.
      const checked = validateTraitAst(parsed, field);
      return checked.ok ? { ok: true, ast: checked.ast, text: printTrait(checked.ast) } : checked;
    } catch (error) {
      if (error instanceof AudienceParseError) return { ok: false, errors: [{ path: field, message: error.message }] };
      throw error;
    }
  }
  const checked = validateTraitAst(definition, field);
  return checked.ok ? { ok: true, ast: checked.ast, text: printTrait(checked.ast) } : checked;
}

export type AccountTraitDefinitionResult =
  { ok: true; ast: AccountTraitAst; text: string } | { ok: false; errors: AudienceValidationError[] };

/** As readTraitDefinition, for an account-level trait (`count "Login" by members within 14 days`). */
export function readAccountTraitDefinition(definition: unknown, field = 'definition'): AccountTraitDefinitionResult {
  if (typeof definition === 'string') {
    try {
      const parsed = parseAccountTrait(definition);
      const checked = validateAccountTraitAst(parsed, field);
      return checked.ok ? { ok: true, ast: checked.ast, text: printAccountTrait(checked.ast) } : checked;
    } catch (error) {
      if (error instanceof AudienceParseError) return { ok: false, errors: [{ path: field, message: error.message }] };
      throw error;
    }
  }
  const checked = validateAccountTraitAst(definition, field);
  return checked.ok ? { ok: true, ast: checked.ast, text: printAccountTrait(checked.ast) } : checked;
}
