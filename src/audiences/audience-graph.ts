/**
 * Which audiences refer to which (`in audience "k"`), by key. Pure: the service loads the
 * workspace's audiences and asks this module whether a definition may be saved.
 */

/** key → keys its definition refers to. */
export type AudienceGraph = ReadonlyMap<string, readonly string[]>;

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
