import { buildJourney, type JourneyScope } from './journey';
import { planPopulation } from './population';
import { hashString, Random } from './random';
import type { EventRow, IdentityRow, ProfileJourney, ProfileRow, SourceRow, WorkspaceRow } from './rows';

/**
 * The generator's entry point: a pure, seeded description of a Segment-style dataset that can be
 * streamed any number of times and always yields the same rows in the same order.
 */

export const DEFAULT_SEED = 42;
export const DEFAULT_NOW = '2026-11-01T00:00:00.000Z';
export const DEFAULT_MONTHS = 6;
export const DEFAULT_WORKSPACE_NAME = 'bench';

export interface DatasetOptions {
  profiles: number;
  events: number;
  seed?: number;
  /** The moment the data is "as of"; every timestamp is before it. */
  now?: Date | string;
  /** How far back activity goes, in calendar months before `now`. */
  months?: number;
  workspaceName?: string;
  /** Generate into an existing workspace and source (the demo) instead of a made-up pair. */
  into?: { workspaceId: string; sourceId: string };
}

export interface ResolvedDatasetOptions {
  profiles: number;
  events: number;
  seed: number;
  now: string;
  months: number;
  workspaceName: string;
  /** Earliest possible event timestamp (`now` minus `months`). */
  windowStart: string;
}

export interface Dataset {
  readonly options: ResolvedDatasetOptions;
  readonly workspace: WorkspaceRow;
  readonly source: SourceRow;
  /** Every profile with its identities and events, in load order (by first visit). */
  journeys(): Generator<ProfileJourney>;
  profiles(): Generator<ProfileRow>;
  identities(): Generator<IdentityRow>;
  events(): Generator<EventRow>;
}

export class InvalidDatasetOptionsError extends Error {}

const WORKSPACE_STREAM = 0x77726b73;

function resolve(options: DatasetOptions): ResolvedDatasetOptions {
  const seed = options.seed ?? DEFAULT_SEED;
  const months = options.months ?? DEFAULT_MONTHS;
  const now = new Date(options.now ?? DEFAULT_NOW);
  if (!Number.isSafeInteger(options.profiles) || options.profiles < 1) {
    throw new InvalidDatasetOptionsError(`profiles must be a positive integer, got ${options.profiles}`);
  }
  if (!Number.isSafeInteger(options.events) || options.events < 1) {
    throw new InvalidDatasetOptionsError(`events must be a positive integer, got ${options.events}`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new InvalidDatasetOptionsError(`seed must be a non-negative integer, got ${seed}`);
  if (!Number.isInteger(months) || months < 1)
    throw new InvalidDatasetOptionsError(`months must be a positive integer, got ${months}`);
  if (Number.isNaN(now.getTime()))
    throw new InvalidDatasetOptionsError(`now is not a valid date: ${String(options.now)}`);
  const windowStart = new Date(now.getTime());
  windowStart.setUTCMonth(windowStart.getUTCMonth() - months);
  return {
    profiles: options.profiles,
    events: options.events,
    seed,
    now: now.toISOString(),
    months,
    workspaceName: options.workspaceName ?? DEFAULT_WORKSPACE_NAME,
    windowStart: windowStart.toISOString(),
  };
}

export function generateDataset(options: DatasetOptions): Dataset {
  const resolved = resolve(options);
  const { seed, workspaceName } = resolved;
  // Keyed by name too, so several workspaces can share one database: profile and identity ids are
  // primary keys. (The one Demo workspace of a database is found by its name, so it gets the same
  // people in every installation, and the docs can name one of them.)
  const workspaceKey = hashString(workspaceName);
  const random = new Random(seed, WORKSPACE_STREAM, workspaceKey);
  const createdAt = new Date(Date.parse(resolved.windowStart) - 24 * 3_600_000).toISOString();
  const workspaceId = random.uuid();
  const sourceId = random.uuid();
  const workspace: WorkspaceRow = {
    id: options.into?.workspaceId ?? workspaceId,
    name: workspaceName,
    settings: '{}',
    createdAt,
  };
  const source: SourceRow = {
    id: options.into?.sourceId ?? sourceId,
    workspaceId: workspace.id,
    name: 'Web (analytics.js)',
    writeKey: `wk_${random.hex(16)}`,
    createdAt,
  };

  // Planned up front (a few typed arrays per profile) so impossible options fail before any I/O.
  const population = planPopulation({
    profiles: resolved.profiles,
    events: resolved.events,
    seed,
    nowMs: Date.parse(resolved.now),
    windowStartMs: Date.parse(resolved.windowStart),
  });
  const scope: JourneyScope = { seed, workspaceKey, workspaceId: workspace.id, sourceId: source.id, population };

  function* journeys(): Generator<ProfileJourney> {
    for (const index of population.order) yield buildJourney(scope, index);
  }

  return {
    options: resolved,
    workspace,
    source,
    journeys,
    *profiles() {
      for (const journey of journeys()) yield journey.profile;
    },
    *identities() {
      for (const journey of journeys()) yield* journey.identities;
    },
    *events() {
      for (const journey of journeys()) yield* journey.events;
    },
  };
}
