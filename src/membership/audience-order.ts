import { type AudienceAst, referencedAudienceKeys } from '../audiences/language/audience-ast';
import { validateAudienceAst } from '../audiences/language/audience-validator';
import { AudienceDefinitionError } from './membership.errors';

export interface KeyedAudience {
  id: string;
  key: string;
  definitionAst: unknown;
}

/** The stored AST, checked again: rows are written by another module and may predate a grammar change. */
export function storedDefinition(audience: { id: string; definitionAst: unknown }): AudienceAst {
  const checked = validateAudienceAst(audience.definitionAst);
  if (!checked.ok) {
    throw new AudienceDefinitionError(
      audience.id,
      checked.errors.map((e) => `${e.path}: ${e.message}`),
    );
  }
  return checked.ast;
}

function referencedKeys(audience: KeyedAudience): string[] {
  const checked = validateAudienceAst(audience.definitionAst);
  return checked.ok ? referencedAudienceKeys(checked.ast) : [];
}

/**
 * Audiences in dependency order: every audience after the audiences it references (`in audience`),
 * ties broken by key so the order, and so the order locks are taken in, is the same everywhere.
 * The API refuses cycles; should one exist anyway, its members are appended in key order rather
 * than looping forever.
 */
export function dependencyOrder<T extends KeyedAudience>(audiences: readonly T[]): T[] {
  const byKey = new Map(audiences.map((a) => [a.key, a]));
  const sorted = [...audiences].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const ordered: T[] = [];
  const visit = (audience: T): void => {
    if (done.has(audience.key) || visiting.has(audience.key)) return;
    visiting.add(audience.key);
    for (const key of referencedKeys(audience).sort()) {
      const dependency = byKey.get(key);
      if (dependency) visit(dependency);
    }
    visiting.delete(audience.key);
    done.add(audience.key);
    ordered.push(audience);
  };
  sorted.forEach(visit);
  return ordered;
}

/** Audiences whose definition references `key` directly. */
export function directDependents<T extends KeyedAudience>(audiences: readonly T[], key: string): T[] {
  return audiences.filter((a) => referencedKeys(a).includes(key));
}
