/**
 * Journey conditions (goal, wait_until, branch) are audience-language text at the journey's level
 * (about the person, or about the account of an account journey): they compile through the same
 * path as audiences, so whatever the language gains (computed traits, scores) journeys gain with
 * it. Definitions were validated on save; the parse is cached by level and text.
 */
import { LRUCache } from 'lru-cache';

import { audiencePredicate, recipientPredicate } from '../audiences/audience-predicate';
import { type AudienceAst, readAudienceDefinition } from '../audiences/language/audience-language';
import { Prisma } from '../generated/prisma/client';
import type { SubjectLevel } from './journey-definition';

const parsed = new LRUCache<string, AudienceAst>({ max: 5_000 });

function astOf(text: string, level: SubjectLevel): AudienceAst {
  const key = `${level}\u0000${text}`;
  const cached = parsed.get(key);
  if (cached) return cached;
  const read = readAudienceDefinition(text, 'condition', level);
  if (!read.ok) throw new Error(`a stored journey condition no longer parses: ${read.errors[0]?.message ?? text}`);
  parsed.set(key, read.ast);
  return read.ast;
}

/**
 * The condition as a predicate evaluated as of `now`, over all history: over the profile row `p`,
 * or over the account row `g` for an account journey.
 */
export function conditionPredicate(
  workspaceId: string,
  text: string,
  now: Date,
  level: SubjectLevel = 'profile',
): Prisma.Sql {
  return audiencePredicate(
    astOf(text, level),
    { workspaceId, includeHistoricalData: true, historyStartsAt: null, createdAt: now },
    now,
    level,
  );
}

/**
 * Who of an account's members an account journey's email goes to, over the member's profile `p`:
 * the condition (null: anyone) and, in any case, an email address.
 */
export function recipientsPredicate(workspaceId: string, text: string | null, now: Date): Prisma.Sql {
  return recipientPredicate(text === null ? null : astOf(text, 'profile'), workspaceId, now);
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
