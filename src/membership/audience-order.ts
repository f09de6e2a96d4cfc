/**
 * The audience dependency graph and stored definitions live in the audiences module now (one graph,
 * one predicate path); these names stay importable from here for the engine's code.
 */
export type { KeyedAudience } from '../audiences/audience-graph';
export { dependencyOrder, directDependents } from '../audiences/audience-graph';
export { storedDefinition } from '../audiences/audience-predicate';
