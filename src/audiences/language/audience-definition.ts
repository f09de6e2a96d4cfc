import { AudienceAst, SubjectLevel } from './audience-ast';
import { AudienceParseError, parseAudience } from './audience-parser';
import { printAudience } from './audience-printer';
import { AudienceValidationError, validateAudienceAst } from './audience-validator';

export type AudienceDefinitionResult =
  { ok: true; ast: AudienceAst; text: string } | { ok: false; errors: AudienceValidationError[] };

/**
 * Reads a definition as the API receives it, either the text form or the JSON AST, and returns
 * both forms (the text printed from the AST, so it is canonical) or errors that name the field:
 * `{ path: "definition", message: "line 1, col 27: expected a whole number" }` for text,
 * `{ path: "definition.conditions[1].count.value", … }` for JSON.
 */
export function readAudienceDefinition(
  definition: unknown,
  field = 'definition',
  level: SubjectLevel = 'profile',
): AudienceDefinitionResult {
  if (typeof definition === 'string') {
    try {
      const ast = parseAudience(definition, level);
      return { ok: true, ast, text: printAudience(ast) };
    } catch (error) {
      if (error instanceof AudienceParseError) return { ok: false, errors: [{ path: field, message: error.message }] };
      throw error;
    }
  }
  const checked = validateAudienceAst(definition, field, level);
  return checked.ok ? { ok: true, ast: checked.ast, text: printAudience(checked.ast) } : checked;
}
