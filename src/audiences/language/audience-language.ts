/**
 * The audience language as other modules use it (funnels today; computed traits and journeys
 * next): parse a definition or its parts, print an AST, compile property filters to SQL. Everything
 * else under language/ is internal to the audiences module and may change with the compiler; lint
 * refuses imports of it from outside src/audiences.
 */
import { Prisma } from '../../generated/prisma/client';
import type { PropertyFilter } from './audience-ast';
import type { CompileContext } from './compiler/compile-context';
import { compileValueTest } from './compiler/value-tests';

export type {
  AudienceAst,
  Duration,
  PropertyFilter,
  SequenceCondition,
  SequenceStep,
  TimeWindow,
  ValueTest,
} from './audience-ast';
export { assertUnreachable, durationSeconds, referencedTraitKeys } from './audience-ast';
export { referencedAudienceKeys } from './audience-ast';
export { readAudienceDefinition } from './audience-definition';
export { AudienceParseError, parseAudience, parseFilters, parsePropertyPath } from './audience-parser';
export { printAudience } from './audience-printer';
export { compareCodePoints, jsonAtPath, jsonNumber, minusDuration, parseInstant } from './audience-values';
export type { BatchTarget, CompileContext } from './compiler/compile-context';
/** The relation a real-time batch statement holds a stage's target sets in (see CompileContext.batchTargets). */
export { batchTargetRelation } from './compiler/compile-context';
/** A Date (or epoch milliseconds) as a bound `timestamptz` parameter. */
export { instant as sqlInstant } from './compiler/compile-context';

/**
 * For languages of the same family (computed traits, and next account conditions), which extend
 * the grammar (`Traits <: Audience`), its semantics and its JSON validator rather than copying
 * them, and compile events, windows and filters with the same meaning.
 */
export { AUDIENCE_GRAMMAR_SOURCE, audienceGrammar } from './audience-grammar';
export { audienceSemantics, errorAt, expectedText, positionOf } from './audience-parser';
export { name as printName, printPath, printWhere, printWindow, quote } from './audience-printer';
export type { AudienceValidationError } from './audience-validator';
export { Validator as AstValidator, AUDIENCE_LIMITS, Invalid as InvalidAstField } from './audience-validator';
export { namedEventScope, windowTest } from './compiler/compile-context';

/**
 * Every filter holds for the JSON object `document` (e.g. `e.properties`), with the audience
 * language's value semantics: TRUE or FALSE, never NULL; TRUE for no filters. Values and property
 * names are bound parameters.
 */
export function compilePropertyFilters(
  document: Prisma.Sql,
  filters: readonly PropertyFilter[],
  ctx: CompileContext,
): Prisma.Sql {
  if (filters.length === 0) return Prisma.sql`TRUE`;
  return Prisma.join(
    filters.map((filter) => compileValueTest(document, filter.path, filter, ctx)),
    ' AND ',
  );
}
