import { CompileContext, sqlInstant, windowTest } from '../../../audiences/language/audience-language';
import { Prisma } from '../../../generated/prisma/client';
import { AccountTraitAst, ActiveMembersTrait, ByMembersTrait, OfMembersTrait } from '../account-trait-ast';
import { compileTrait } from './trait-compiler';
import { CompiledTrait, wholeDaysSince } from './trait-sql';

/**
 * Account-level traits. A compiled account trait is a CompiledTrait whose rows are
 * (profile_id = the account's group id, value): the values table keeps one row per subject, a
 * profile or an account, in the same column. `memberEvents` says the values query reads `events` as
 * the account's members' events (see memberEventsCte), which `accountTraitTargetQuery` provides.
 *
 * Members are the account's live profiles: group_memberships joined to profiles not merged away,
 * as in account audiences (src/audiences/language/compiler/account-conditions.ts).
 */
export interface CompiledAccountTrait extends CompiledTrait {
  memberEvents: boolean;
}

/** Restricts a computation to these accounts (real-time evaluation); all accounts when absent. */
export interface AccountScope {
  accountIds?: readonly string[];
}

export function compileAccountTrait(
  ast: AccountTraitAst,
  ctx: CompileContext,
  scope: AccountScope = {},
): CompiledAccountTrait {
  switch (ast.type) {
    case 'members':
      return {
        values: Prisma.sql`SELECT gm.group_id AS profile_id, to_jsonb(count(*)) AS value ${liveMembers(ctx, scope)} GROUP BY gm.group_id`,
        fallback: Prisma.sql`'0'::jsonb`,
        memberEvents: false,
      };
    case 'active_members':
      return compileActiveMembers(ast, ctx, scope);
    case 'of_members':
      return compileOfMembers(ast, ctx, scope);
    case 'days_since_created':
      return {
        values: Prisma.sql`SELECT g.id AS profile_id, ${wholeDaysSince(Prisma.sql`g.created_at`, sqlInstant(ctx.now))} AS value FROM groups g WHERE g.workspace_id = ${ctx.workspaceId}::uuid${accountFilter(Prisma.sql`g.id`, scope)}`,
        fallback: null,
        memberEvents: false,
      };
    case 'by_members':
      return compileByMembers(ast, ctx);
  }
}

/** FROM … WHERE of the live memberships (alias gm) with the member's profile `p`. */
function liveMembers(ctx: CompileContext, scope: AccountScope): Prisma.Sql {
  return Prisma.sql`FROM group_memberships gm JOIN profiles p ON p.id = gm.profile_id
    WHERE p.workspace_id = ${ctx.workspaceId}::uuid AND p.merged_into_id IS NULL${accountFilter(Prisma.sql`gm.group_id`, scope)}`;
}

function accountFilter(column: Prisma.Sql, scope: AccountScope): Prisma.Sql {
  return scope.accountIds ? Prisma.sql` AND ${column} = ANY(${[...scope.accountIds]}::uuid[])` : Prisma.empty;
}

/**
 * Members with an event of any kind in the window, as the audience condition `active within …`
 * reads a profile: an event of the member as of `now`, probed through events(workspace_id,
 * profile_id, timestamp).
 */
function compileActiveMembers(ast: ActiveMembersTrait, ctx: CompileContext, scope: AccountScope): CompiledAccountTrait {
  const inWindow = windowTest(Prisma.sql`e.timestamp`, ast.window, ctx, true);
  const active = Prisma.sql`EXISTS (SELECT 1 FROM events e WHERE e.workspace_id = ${ctx.workspaceId}::uuid AND e.profile_id = p.id AND e.timestamp <= ${sqlInstant(ctx.now)} AND ${inWindow} OFFSET 0)`;
  return {
    values: Prisma.sql`SELECT gm.group_id AS profile_id, to_jsonb(count(*)) AS value ${liveMembers(ctx, scope)} AND ${active} GROUP BY gm.group_id`,
    fallback: Prisma.sql`'0'::jsonb`,
    memberEvents: false,
  };
}

const AGGREGATES = { sum: 'sum', avg: 'avg', min: 'min', max: 'max' } as const;

/**
 * Over the members' current values of a profile-level trait, read as numbers as audience value tests
 * read them; sums and averages in numeric, as for events (exact, order-independent).
 */
function compileOfMembers(ast: OfMembersTrait, ctx: CompileContext, scope: AccountScope): CompiledAccountTrait {
  const number = Prisma.sql`personae_json_number(v.value)`;
  const operand = ast.fn === 'sum' || ast.fn === 'avg' ? Prisma.sql`${number}::numeric` : number;
  const trait = Prisma.sql`(SELECT t.id FROM computed_traits t WHERE t.workspace_id = ${ctx.workspaceId}::uuid AND t.key = ${ast.trait} AND t.level = 'profile')`;
  return {
    values: Prisma.sql`SELECT gm.group_id AS profile_id, to_jsonb(${Prisma.raw(AGGREGATES[ast.fn])}(${operand})) AS value
      FROM group_memberships gm JOIN profiles p ON p.id = gm.profile_id
      JOIN computed_trait_values v ON v.trait_id = ${trait} AND v.profile_id = p.id
      WHERE p.workspace_id = ${ctx.workspaceId}::uuid AND p.merged_into_id IS NULL${accountFilter(Prisma.sql`gm.group_id`, scope)}
        AND ${number} IS NOT NULL
      GROUP BY gm.group_id`,
    fallback: null,
    memberEvents: false,
  };
}

/** The profile trait's query, over `events` shadowed by the members' events keyed by account. */
function compileByMembers(ast: ByMembersTrait, ctx: CompileContext): CompiledAccountTrait {
  return { ...compileTrait(ast.of, ctx), memberEvents: true };
}

/**
 * The events of the accounts' live members, with `profile_id` replaced by the account's id, under
 * the name `events` so that a profile trait's query reads them as one subject's events. NOT
 * MATERIALIZED: Postgres inlines it, so the trait's event name and window reach the
 * events(workspace_id, name, timestamp, …) index and only matching events are joined to members.
 */
export function memberEventsCte(ctx: CompileContext, scope: AccountScope): Prisma.Sql {
  return Prisma.sql`events AS NOT MATERIALIZED (
    SELECT e.id, e.workspace_id, gm.group_id AS profile_id, e.type, e.name, e.timestamp, e.properties
    FROM events e JOIN group_memberships gm ON gm.profile_id = e.profile_id JOIN profiles p ON p.id = e.profile_id
    WHERE e.workspace_id = ${ctx.workspaceId}::uuid AND p.merged_into_id IS NULL${accountFilter(Prisma.sql`gm.group_id`, scope)}
  )`;
}

/**
 * Every account's value as rows (profile_id = account id, value), over the workspace's accounts `g`
 * (those in scope), only those with a value; counts give every other account their fallback (0).
 */
export function accountTraitTargetQuery(
  compiled: CompiledAccountTrait,
  ctx: CompileContext,
  scope: AccountScope = {},
): Prisma.Sql {
  const accounts = Prisma.sql`g.workspace_id = ${ctx.workspaceId}::uuid${accountFilter(Prisma.sql`g.id`, scope)}`;
  const events = compiled.memberEvents ? Prisma.sql`WITH ${memberEventsCte(ctx, scope)} ` : Prisma.empty;
  if (compiled.fallback === null) {
    return Prisma.sql`${events}SELECT g.id AS profile_id, v.value FROM (${compiled.values}) v JOIN groups g ON g.id = v.profile_id WHERE ${accounts} AND v.value IS NOT NULL`;
  }
  return Prisma.sql`${events}SELECT g.id AS profile_id, COALESCE(v.value, ${compiled.fallback}) AS value FROM groups g LEFT JOIN (${compiled.values}) v ON v.profile_id = g.id WHERE ${accounts}`;
}
