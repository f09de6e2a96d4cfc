/**
 * The one way a trait becomes SQL: preview, full computations and real-time evaluation all compile
 * here, so the SQL the preview shows is the SQL the engine runs.
 */
import { LRUCache } from 'lru-cache';

import type { FieldProblem } from '../common/problems';
import { CompiledTrait, compileTrait } from './language/compiler/trait-compiler';
import { TraitAst } from './language/trait-ast';
import { validateTraitAst } from './language/trait-validator';
import { TraitDefinitionError } from './traits.errors';

export interface StoredTrait {
  id: string;
  workspaceId: string;
  version: number;
  /** JSON as stored: validated on the way in, but possibly by an older grammar. */
  definitionAst: unknown;
}

type Checked = { ok: true; ast: TraitAst } | { ok: false; problems: FieldProblem[] };

/** Validated definitions by (trait id, version): a version's definition never changes. */
const checked = new LRUCache<string, Checked>({ max: 10_000 });

export function storedTraitAst(trait: StoredTrait): TraitAst {
  const key = `${trait.id}/${trait.version}`;
  let result = checked.get(key);
  if (!result) {
    const validated = validateTraitAst(trait.definitionAst);
    result = validated.ok
      ? { ok: true, ast: validated.ast }
      : { ok: false, problems: validated.errors.map((e) => ({ field: e.path, reason: e.message })) };
    checked.set(key, result);
  }
  if (!result.ok) throw new TraitDefinitionError(trait.id, result.problems);
  return result.ast;
}

export function compiledTrait(trait: StoredTrait, now: Date): CompiledTrait {
  return compileTrait(storedTraitAst(trait), { workspaceId: trait.workspaceId, now });
}
