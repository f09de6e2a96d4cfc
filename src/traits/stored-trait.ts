/**
 * The one way a trait becomes SQL: preview, full computations and real-time evaluation all compile
 * here, so the SQL the preview shows is the SQL the engine runs.
 */
import { LRUCache } from 'lru-cache';

import type { FieldProblem } from '../common/problems';
import { AccountTraitAst, accountTraitReferences } from './language/account-trait-ast';
import { CompiledTrait, compileTrait } from './language/compiler/trait-compiler';
import { TraitAst } from './language/trait-ast';
import { validateAccountTraitAst, validateTraitAst } from './language/trait-validator';
import { TraitDefinitionError } from './traits.errors';

export interface StoredTrait {
  id: string;
  workspaceId: string;
  version: number;
  /** JSON as stored: validated on the way in, but possibly by an older grammar. */
  definitionAst: unknown;
}

type Checked = { ok: true; ast: TraitAst } | { ok: false; problems: FieldProblem[] };
type CheckedAccount = { ok: true; ast: AccountTraitAst } | { ok: false; problems: FieldProblem[] };

/** Validated definitions by (trait id, version): a version's definition never changes. */
const checked = new LRUCache<string, Checked>({ max: 10_000 });
const checkedAccount = new LRUCache<string, CheckedAccount>({ max: 10_000 });

/** An account-level trait's stored definition; throws TraitDefinitionError when it no longer validates. */
export function storedAccountTraitAst(trait: StoredTrait): AccountTraitAst {
  const key = `${trait.id}/${trait.version}`;
  let result = checkedAccount.get(key);
  if (!result) {
    const validated = validateAccountTraitAst(trait.definitionAst);
    result = validated.ok
      ? { ok: true, ast: validated.ast }
      : { ok: false, problems: validated.errors.map((e) => ({ field: e.path, reason: e.message })) };
    checkedAccount.set(key, result);
  }
  if (!result.ok) throw new TraitDefinitionError(trait.id, result.problems);
  return result.ast;
}

/** The profile traits a stored account definition reads; none when it no longer validates. */
export function storedAccountTraitReferences(definitionAst: unknown): string[] {
  const validated = validateAccountTraitAst(definitionAst);
  return validated.ok ? accountTraitReferences(validated.ast) : [];
}

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
