/**
 * Journey conditions (goal, wait_until, branch) are audience-language text at profile level: they
 * compile through the same path as audiences, so whatever the language gains (computed traits,
 * scores) journeys gain with it. Definitions were validated on save; the parse is cached by text.
 */
import { LRUCache } from 'lru-cache';

import { audiencePredicate } from '../audiences/audience-predicate';
import { type AudienceAst, readAudienceDefinition } from '../audiences/language/audience-language';
import { Prisma } from '../generated/prisma/client';

const parsed = new LRUCache<string, AudienceAst>({ max: 5_000 });

function astOf(text: string): AudienceAst {
  const cached = parsed.get(text);
  if (cached) return cached;
  const read = readAudienceDefinition(text);
  if (!read.ok) throw new Error(`a stored journey condition no longer parses: ${read.errors[0]?.message ?? text}`);
  parsed.set(text, read.ast);
  return read.ast;
}

/** The condition as a predicate over the profile row `p`, evaluated as of `now`, over all history. */
export function conditionPredicate(workspaceId: string, text: string, now: Date): Prisma.Sql {
  return audiencePredicate(
    astOf(text),
    { workspaceId, includeHistoricalData: true, historyStartsAt: null, createdAt: now },
    now,
  );
}

/** Event names an audience definition mentions (the entry event of a run is one of them). */
export function eventNamesOf(ast: unknown): string[] {
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'event' && typeof value === 'string') names.add(value);
      else walk(value);
    }
  };
  walk(ast);
  return [...names].sort();
}
