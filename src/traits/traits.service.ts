import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';

import { storedTraitReferences } from '../audiences/audience-predicate';
import { Clock } from '../common/clock';
import { cursorBigInt, cursorDate, cursorParts } from '../common/cursor';
import {
  decodeKeyCursor,
  DEFAULT_PAGE_SIZE,
  encodeKeyCursor,
  invalidCursor,
  pageFrom,
  PageRequest,
} from '../common/pagination';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import { QueueName } from '../queues/queue-names';
import { AccountTraitAst, accountTraitReferences, accountValueKind } from './language/account-trait-ast';
import { accountTraitTargetQuery, compileAccountTrait } from './language/compiler/account-values';
import { compileTrait, traitTargetQuery } from './language/compiler/trait-compiler';
import { TraitAst, TraitValueKind, valueKind } from './language/trait-ast';
import { readAccountTraitDefinition, readTraitDefinition } from './language/trait-definition';
import { storedAccountTraitReferences } from './stored-trait';
import {
  COMPUTE_TRAIT_JOB_NAME,
  COMPUTE_TRAIT_JOB_OPTIONS,
  ComputeTraitJob,
  computeTraitJobId,
  deletedTraitJobId,
  manualTraitJobId,
  traitIntervalJobId,
} from './trait-jobs';
import {
  CreateTraitDto,
  DEFAULT_TRAIT_REFRESH_SECONDS,
  PreviewTraitDto,
  TRAIT_PREVIEW_SAMPLE_SIZE,
  TraitComputeView,
  TraitHistoryView,
  TraitLevel,
  TraitListView,
  TraitPreviewView,
  TraitView,
  UpdateTraitDto,
} from './traits.dto';
import { InvalidTraitError, TraitInUseError, TraitNotFoundError, TraitReadByTraitsError } from './traits.errors';
import { TraitChanges, TraitRow, TraitsRepository } from './traits.repository';

/** Computed traits over REST; the trait computation consumes the `compute-traits` queue. */
@Injectable()
export class TraitsService {
  constructor(
    private readonly repository: TraitsRepository,
    private readonly clock: Clock,
    @InjectQueue(QueueName.ComputeTraits) private readonly queue: Queue<ComputeTraitJob>,
  ) {}

  async create(workspaceId: string, input: CreateTraitDto): Promise<TraitView> {
    const level = input.level ?? 'profile';
    const definition = readDefinition(input.definition, level);
    const now = this.clock.now();
    const row = await this.repository.withWorkspaceLock(workspaceId, async (tx) => {
      await this.checkReferences(workspaceId, definition, tx);
      return this.repository.insert(
        workspaceId,
        {
          key: input.key,
          name: input.name,
          level,
          definitionAst: toJson(definition.ast),
          definitionText: definition.text,
          refreshIntervalSeconds: input.refreshIntervalSeconds ?? DEFAULT_TRAIT_REFRESH_SECONDS,
          at: now,
        },
        tx,
      );
    });
    await this.enqueue({ workspaceId, traitId: row.id, reason: 'created' }, computeTraitJobId(row.id, row.version));
    return toView(row);
  }

  async list(workspaceId: string, page: PageRequest = {}): Promise<TraitListView> {
    const limit = page.limit ?? DEFAULT_PAGE_SIZE;
    const afterKey = page.cursor === undefined ? undefined : decodeKeyCursor(page.cursor);
    const rows = await this.repository.list(workspaceId, limit + 1, afterKey);
    return pageFrom(rows, limit, (row) => encodeKeyCursor(row.key), toView);
  }

  async get(workspaceId: string, id: string): Promise<TraitView> {
    return toView(await this.mustFind(workspaceId, id));
  }

  /** A new definition is a new version and a new computation; a new interval reschedules. */
  async update(workspaceId: string, id: string, input: UpdateTraitDto): Promise<TraitView> {
    const now = this.clock.now();
    const { row, recompute, newVersion } = await this.repository.withWorkspaceLock(workspaceId, async (tx) => {
      const current = await this.mustFind(workspaceId, id, tx);
      // A definition is read at the trait's level, which does not change.
      const definition = input.definition === undefined ? undefined : readDefinition(input.definition, current.level);
      if (definition) await this.checkReferences(workspaceId, definition, tx);
      const changes: TraitChanges = { bumpVersion: false, at: now };
      if (input.name !== undefined) changes.name = input.name;
      if (definition && definition.text !== current.definitionText) {
        changes.definitionAst = toJson(definition.ast);
        changes.definitionText = definition.text;
        changes.bumpVersion = true;
      }
      const intervalChanged =
        input.refreshIntervalSeconds !== undefined && input.refreshIntervalSeconds !== current.refreshIntervalSeconds;
      if (intervalChanged) changes.refreshIntervalSeconds = input.refreshIntervalSeconds;
      const updated = await this.repository.update(workspaceId, id, changes, tx);
      return { row: updated, recompute: changes.bumpVersion || intervalChanged, newVersion: changes.bumpVersion };
    });
    if (recompute) {
      const jobId = newVersion
        ? computeTraitJobId(row.id, row.version)
        : traitIntervalJobId(row.id, row.version, row.refreshIntervalSeconds);
      await this.enqueue({ workspaceId, traitId: row.id, reason: 'updated' }, jobId);
    }
    return toView(row);
  }

  /** Refused while an audience reads the trait, so no audience definition is left dangling. */
  async delete(workspaceId: string, id: string): Promise<void> {
    await this.repository.withWorkspaceLock(workspaceId, async (tx) => {
      const current = await this.mustFind(workspaceId, id, tx);
      const readers = (await this.repository.audienceDefinitions(workspaceId, tx))
        .filter((audience) => storedTraitReferences(audience).includes(current.key))
        .map((audience) => audience.key)
        .sort();
      if (readers.length > 0) throw new TraitInUseError(current.key, readers);
      const traitReaders = (await this.repository.accountTraitDefinitions(workspaceId, tx))
        .filter((trait) => storedAccountTraitReferences(trait.definitionAst).includes(current.key))
        .map((trait) => trait.key)
        .sort();
      if (traitReaders.length > 0) throw new TraitReadByTraitsError(current.key, traitReaders);
      await this.repository.delete(workspaceId, id, tx);
    });
    await this.enqueue({ workspaceId, traitId: id, reason: 'deleted' }, deletedTraitJobId(id));
  }

  async compute(workspaceId: string, id: string): Promise<TraitComputeView> {
    await this.mustFind(workspaceId, id);
    const jobId = manualTraitJobId(id, this.clock.now().getTime());
    await this.enqueue({ workspaceId, traitId: id, reason: 'manual' }, jobId);
    return { status: 'queued', jobId };
  }

  /**
   * How many profiles (accounts) would have a value now, statistics of the values, a sample and the
   * SQL. An account trait that reads a profile trait previews over its stored values.
   */
  async preview(workspaceId: string, input: PreviewTraitDto): Promise<TraitPreviewView> {
    const level = input.level ?? 'profile';
    const definition = readDefinition(input.definition, level);
    await this.checkReferences(workspaceId, definition);
    const ctx = { workspaceId, now: this.clock.now() };
    let target: Prisma.Sql;
    let kind: TraitValueKind;
    if (definition.level === 'account') {
      target = accountTraitTargetQuery(compileAccountTrait(definition.ast, ctx), ctx);
      kind = accountValueKind(definition.ast);
    } else {
      const compiled = compileTrait(definition.ast, ctx);
      target = traitTargetQuery(
        compiled,
        Prisma.sql`p.workspace_id = ${workspaceId}::uuid AND p.merged_into_id IS NULL`,
      );
      kind = valueKind(definition.ast);
    }
    const row = await this.repository.preview(workspaceId, target, kind, TRAIT_PREVIEW_SAMPLE_SIZE, level);
    return {
      count: row.count,
      kind,
      ...(kind === 'number' ? { min: row.min, max: row.max, mean: row.mean } : { topValues: row.topValues ?? [] }),
      sample: row.sample,
      sql: target.sql,
      params: target.values,
    };
  }

  async history(
    workspaceId: string,
    id: string,
    query: PageRequest & { profileId?: string },
  ): Promise<TraitHistoryView> {
    await this.mustFind(workspaceId, id);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = query.cursor === undefined ? undefined : historyCursor(query.cursor);
    const rows = await this.repository.pageHistory(workspaceId, id, limit + 1, {
      ...(query.profileId ? { profileId: query.profileId } : {}),
      ...(after ? { after } : {}),
    });
    return pageFrom(
      rows,
      limit,
      (row) => Buffer.from(`${row.at.toISOString()}|${row.id}`).toString('base64url'),
      (row) => ({ profileId: row.profileId, oldValue: row.oldValue, newValue: row.newValue, at: row.at.toISOString() }),
    );
  }

  /** `max computed logins_7d of members` must name a profile-level trait of the workspace. */
  private async checkReferences(workspaceId: string, definition: Definition, tx?: Tx): Promise<void> {
    if (definition.level !== 'account') return;
    const keys = accountTraitReferences(definition.ast);
    const levels = await this.repository.traitLevels(workspaceId, keys, tx);
    const problems = keys.flatMap((key) => {
      const level = levels.get(key);
      if (level === 'profile') return [];
      const reason =
        level === undefined
          ? `reads computed trait "${key}", which does not exist in this workspace`
          : `reads computed trait "${key}", which is an account-level trait: \`of members\` reads a profile-level one`;
      return [{ field: 'definition', reason }];
    });
    if (problems.length > 0) throw new InvalidTraitError(problems);
  }

  private async mustFind(workspaceId: string, id: string, tx?: Tx): Promise<TraitRow> {
    const row = await this.repository.find(workspaceId, id, tx);
    if (!row) throw new TraitNotFoundError();
    return row;
  }

  private async enqueue(job: ComputeTraitJob, jobId: string): Promise<void> {
    await this.queue.add(COMPUTE_TRAIT_JOB_NAME, job, { ...COMPUTE_TRAIT_JOB_OPTIONS, jobId });
  }
}

type Definition =
  { level: 'profile'; ast: TraitAst; text: string } | { level: 'account'; ast: AccountTraitAst; text: string };

/** Reads a definition at a level; a definition of the other level is refused with its position. */
function readDefinition(input: unknown, level: TraitLevel): Definition {
  if (level === 'account') {
    const read = readAccountTraitDefinition(input, 'definition');
    if (!read.ok) throw new InvalidTraitError(read.errors.map((e) => ({ field: e.path, reason: e.message })));
    return { level, ast: read.ast, text: read.text };
  }
  const read = readTraitDefinition(input, 'definition');
  if (!read.ok) throw new InvalidTraitError(read.errors.map((e) => ({ field: e.path, reason: e.message })));
  return { level, ast: read.ast, text: read.text };
}

function historyCursor(cursor: string): { at: Date; id: bigint } {
  const [at, id] = cursorParts(cursor, 2) ?? [];
  const date = cursorDate(at);
  const bigId = cursorBigInt(id);
  if (!date || bigId === undefined) throw invalidCursor();
  return { at: date, id: bigId };
}

function toJson(ast: TraitAst | AccountTraitAst): Prisma.InputJsonValue {
  return ast as unknown as Prisma.InputJsonValue;
}

function toView(row: TraitRow): TraitView {
  return {
    id: row.id,
    key: row.key,
    name: row.name,
    level: row.level,
    definitionText: row.definitionText,
    definitionAst: row.definitionAst,
    refreshIntervalSeconds: row.refreshIntervalSeconds,
    version: row.version,
    status: row.status,
    statusReason: row.statusReason,
    valueCount: row.valueCount,
    lastComputedAt: row.lastComputedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
