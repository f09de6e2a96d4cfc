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
import { compileTrait, traitTargetQuery } from './language/compiler/trait-compiler';
import { TraitAst, valueKind } from './language/trait-ast';
import { readTraitDefinition } from './language/trait-definition';
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
import { InvalidTraitError, TraitInUseError, TraitNotFoundError } from './traits.errors';
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
    checkLevel(input.level);
    const definition = readDefinition(input.definition);
    const now = this.clock.now();
    const row = await this.repository.withWorkspaceLock(workspaceId, (tx) =>
      this.repository.insert(
        workspaceId,
        {
          key: input.key,
          name: input.name,
          level: 'profile',
          definitionAst: toJson(definition.ast),
          definitionText: definition.text,
          refreshIntervalSeconds: input.refreshIntervalSeconds ?? DEFAULT_TRAIT_REFRESH_SECONDS,
          at: now,
        },
        tx,
      ),
    );
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
    const definition = input.definition === undefined ? undefined : readDefinition(input.definition);
    const now = this.clock.now();
    const { row, recompute, newVersion } = await this.repository.withWorkspaceLock(workspaceId, async (tx) => {
      const current = await this.mustFind(workspaceId, id, tx);
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

  /** How many profiles would have a value now, statistics of the values, a sample and the SQL. */
  async preview(workspaceId: string, input: PreviewTraitDto): Promise<TraitPreviewView> {
    checkLevel(input.level);
    const definition = readDefinition(input.definition);
    const compiled = compileTrait(definition.ast, { workspaceId, now: this.clock.now() });
    const target = traitTargetQuery(
      compiled,
      Prisma.sql`p.workspace_id = ${workspaceId}::uuid AND p.merged_into_id IS NULL`,
    );
    const kind = valueKind(definition.ast);
    const row = await this.repository.preview(workspaceId, target, kind, TRAIT_PREVIEW_SAMPLE_SIZE);
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

  private async mustFind(workspaceId: string, id: string, tx?: Tx): Promise<TraitRow> {
    const row = await this.repository.find(workspaceId, id, tx);
    if (!row) throw new TraitNotFoundError();
    return row;
  }

  private async enqueue(job: ComputeTraitJob, jobId: string): Promise<void> {
    await this.queue.add(COMPUTE_TRAIT_JOB_NAME, job, { ...COMPUTE_TRAIT_JOB_OPTIONS, jobId });
  }
}

function checkLevel(level: TraitLevel | undefined): void {
  if (level === 'account') {
    throw new InvalidTraitError([
      {
        field: 'level',
        reason:
          'account-level computed traits (aggregates over an account\'s members) are not available yet; use "profile"',
      },
    ]);
  }
}

function readDefinition(input: unknown): { ast: TraitAst; text: string } {
  const read = readTraitDefinition(input, 'definition');
  if (!read.ok) throw new InvalidTraitError(read.errors.map((e) => ({ field: e.path, reason: e.message })));
  return { ast: read.ast, text: read.text };
}

function historyCursor(cursor: string): { at: Date; id: bigint } {
  const [at, id] = cursorParts(cursor, 2) ?? [];
  const date = cursorDate(at);
  const bigId = cursorBigInt(id);
  if (!date || bigId === undefined) throw invalidCursor();
  return { at: date, id: bigId };
}

function toJson(ast: TraitAst): Prisma.InputJsonValue {
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
