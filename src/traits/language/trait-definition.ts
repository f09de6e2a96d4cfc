import { AudienceParseError, AudienceValidationError } from '../../audiences/language/audience-language';
import { TraitAst } from './trait-ast';
import { parseTrait } from './trait-parser';
import { printTrait } from './trait-printer';
import { validateTraitAst } from './trait-validator';

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
