/**
 * The one way an audience becomes SQL: preview, explain and every computation (full and real-time)
 * build their predicate here, so the SQL that `explain` shows is the SQL the engine runs.
 */
import { LRUCache } from 'lru-cache';

import type { FieldProblem } from '../common/problems';
import { Prisma } from '../generated/prisma/client';
import { AudienceDefinitionError } from './audiences.errors';
import { AudienceAst, referencedAudienceKeys, referencedTraitKeys, SubjectLevel } from './language/audience-ast';
import { validateAudienceAst } from './language/audience-validator';
import { compileAccountPredicate, compileRecipientPredicate } from './language/compiler/account-conditions';
import { compileAudiencePredicate } from './language/compiler/audience-compiler';
import type { BatchTarget } from './language/compiler/compile-context';

/** A stored audience version, as far as its definition is concerned. */
export interface StoredDefinition {
  id: string;
  version: number;
  /** JSON as stored: validated on the way in, but possibly by an older grammar. */
  definitionAst: unknown;
  /** profile (members are profiles; the default) or account (members are groups). */
  level?: SubjectLevel;
}

/** What the predicate of an audience depends on besides its definition. */
export interface AudienceScope {
  workspaceId: string;
  includeHistoricalData: boolean;
  /** Set when includeHistoricalData was turned off (or the audience was created without it). */
  historyStartsAt: Date | null;
  createdAt: Date;
}

export type StoredAudience = StoredDefinition & AudienceScope;

type Checked =
  { ok: true; ast: AudienceAst; references: string[]; traits: string[] } | { ok: false; problems: FieldProblem[] };

/**
 * Validated definitions by (audience id, version): a version's definition never changes, and a
 * real-time evaluation reads every audience of a workspace for each batch of profiles. Bounded, so
 * a process serving many workspaces keeps the ones in use; the rest are validated again.
 */
const checkedDefinitions = new LRUCache<string, Checked>({ max: 10_000 });

function check(audience: StoredDefinition): Checked {
  const key = `${audience.id}/${audience.version}`;
  const cached = checkedDefinitions.get(key);
  if (cached) return cached;
  const result = validateAudienceAst(audience.definitionAst, 'definition', audience.level ?? 'profile');
  const checked: Checked = result.ok
    ? {
        ok: true,
        ast: result.ast,
        references: referencedAudienceKeys(result.ast),
        traits: referencedTraitKeys(result.ast),
      }
    : { ok: false, problems: result.errors.map((e) => ({ field: e.path, reason: e.message })) };
  checkedDefinitions.set(key, checked);
  return checked;
}

/** The stored AST, validated; AudienceDefinitionError when it no longer validates. */
export function storedDefinition(audience: StoredDefinition): AudienceAst {
  const checked = check(audience);
  if (!checked.ok) throw new AudienceDefinitionError(audience.id, checked.problems);
  return checked.ast;
}

/** The keys a stored definition refers to with `in audience`; none when it no longer validates. */
export function storedReferences(audience: StoredDefinition): readonly string[] {
  const checked = check(audience);
  return checked.ok ? checked.references : [];
}

/** The keys of the computed traits a stored definition reads; none when it no longer validates. */
export function storedTraitReferences(audience: StoredDefinition): readonly string[] {
  const checked = check(audience);
  return checked.ok ? checked.traits : [];
}

/**
 * Where event conditions start. Segment's meaning of includeHistoricalData false: only events from
 * the audience's start, which is historyStartsAt, or its creation for rows that lack one.
 */
export function eventsSince(audience: AudienceScope): Date | null {
  return audience.includeHistoricalData ? null : (audience.historyStartsAt ?? audience.createdAt);
}

/**
 * The predicate of a validated definition, evaluated as of `now`: over profiles `p` for a profile
 * audience, over groups `g` for an account audience.
 */
export function audiencePredicate(
  definition: AudienceAst,
  audience: AudienceScope,
  now: Date,
  level: SubjectLevel = 'profile',
  batch?: { targets: ReadonlyMap<string, BatchTarget> },
): Prisma.Sql {
  const ctx = {
    workspaceId: audience.workspaceId,
    now,
    eventsSince: eventsSince(audience),
    batch: batch !== undefined,
    batchTargets: batch?.targets,
  };
  return level === 'account' ? compileAccountPredicate(definition, ctx) : compileAudiencePredicate(definition, ctx);
}

/** The predicate of a saved audience: what `explain` shows and computations run. */
export function storedAudiencePredicate(audience: StoredAudience, now: Date): Prisma.Sql {
  return audiencePredicate(storedDefinition(audience), audience, now, audience.level);
}

/**
 * The batch form of a saved profile audience's predicate, for a statement that shadows `events`
 * with the batch's profiles' events (see CompileContext.batch): same profiles, set-based forms;
 * `in audience` of the audiences in `targets` reads their target sets in the same statement.
 */
export function storedBatchPredicate(
  audience: StoredAudience,
  now: Date,
  targets: ReadonlyMap<string, BatchTarget> = new Map(),
): Prisma.Sql {
  return audiencePredicate(storedDefinition(audience), audience, now, 'profile', { targets });
}

/**
 * Who of an account's members receives its emails, as a predicate over the member's profile `p`:
 * the connection's member condition (validated when it was connected; a stored one that no longer
 * validates selects nobody), and in any case an email address to send to.
 */
export function recipientPredicate(recipients: unknown, workspaceId: string, now: Date): Prisma.Sql {
  if (recipients === null || recipients === undefined)
    return compileRecipientPredicate(undefined, { workspaceId, now });
  const checked = validateAudienceAst(recipients, 'recipients', 'profile');
  return checked.ok ? compileRecipientPredicate(checked.ast, { workspaceId, now }) : Prisma.sql`FALSE`;
}
