/**
 * Which audiences refer to which (`in audience "k"`), by key: the one dependency graph of a
 * workspace's audiences. The API asks it whether a definition may be saved (no unknown keys, no
 * cycles, no deleting what others use); the membership engine asks it in which order to evaluate
 * audiences and which to recompute after one changed.
 */
import { StoredDefinition, storedReferences } from './audience-predicate';

/** key → keys its definition refers to. */
export type AudienceGraph = ReadonlyMap<string, readonly string[]>;

export interface KeyedAudience extends StoredDefinition {
  key: string;
}

/** The graph of saved audiences; a definition that no longer validates refers to nothing. */
export function audienceGraph(audiences: readonly KeyedAudience[]): AudienceGraph {
  return new Map(audiences.map((audience) => [audience.key, storedReferences(audience)]));
}

/**
 * A path of keys that starts and ends at `key` (`["a", "b", "a"]`) when giving `key` the
 * references `references` would close a cycle, else undefined. Self-reference is `["a", "a"]`.
 */
export function findCycle(graph: AudienceGraph, key: string, references: readonly string[]): string[] | undefined {
  const edges = (node: string): readonly string[] => (node === key ? references : (graph.get(node) ?? []));
  const visited = new Set<string>();
  // Depth-first from `key`, keeping the path so the cycle can be named.
  const search = (node: string, path: string[]): string[] | undefined => {
    for (const next of edges(node)) {
      if (next === key) return [...path, key];
      if (visited.has(next)) continue;
      visited.add(next);
      const found = search(next, [...path, next]);
      if (found) return found;
    }
    return undefined;
  };
  return search(key, [key]);
}

/** The keys among `references` that name no audience of the graph (other than `self`). */
export function unknownReferences(graph: AudienceGraph, references: readonly string[], self?: string): string[] {
  return references.filter((reference) => reference !== self && !graph.has(reference));
}

/** The keys of the audiences whose definitions refer to `key`, sorted. */
export function referrersOf(graph: AudienceGraph, key: string): string[] {
  return [...graph]
    .filter(([other, references]) => other !== key && references.includes(key))
    .map(([other]) => other)
    .sort();
}

/**
 * Audiences in dependency order: every audience after the audiences it references, ties broken by
 * key so the order, and so the order locks are taken in, is the same everywhere. The API refuses
 * cycles; should one exist anyway, its members are appended in key order rather than looping forever.
 */
export function dependencyOrder<T extends KeyedAudience>(audiences: readonly T[]): T[] {
  const graph = audienceGraph(audiences);
  const byKey = new Map(audiences.map((a) => [a.key, a]));
  const sorted = [...audiences].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const ordered: T[] = [];
  const visit = (audience: T): void => {
    if (done.has(audience.key) || visiting.has(audience.key)) return;
    visiting.add(audience.key);
    for (const key of [...(graph.get(audience.key) ?? [])].sort()) {
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
  const referrers = new Set(referrersOf(audienceGraph(audiences), key));
  return audiences.filter((audience) => referrers.has(audience.key));
}

/**
 * Audiences in dependency levels: level 0 refers to no audience of the list, level k only to
 * audiences of lower levels (at least one of level k − 1). Audiences of one level do not depend on
 * each other, so they may be evaluated in one statement; each level sees the levels before it.
 * Within a level, dependency order (so key order). A cycle, which the API refuses, still ends.
 */
export function dependencyLevels<T extends KeyedAudience>(audiences: readonly T[]): T[][] {
  const graph = audienceGraph(audiences);
  const levelOf = new Map<string, number>();
  const levels: T[][] = [];
  for (const audience of dependencyOrder(audiences)) {
    const below = (graph.get(audience.key) ?? []).map((key) => levelOf.get(key) ?? -1);
    const level = Math.max(-1, ...below) + 1;
    levelOf.set(audience.key, level);
    (levels[level] ??= []).push(audience);
  }
  return levels;
}
