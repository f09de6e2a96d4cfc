import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';

import { Clock } from '../common/clock';
import { decodeKeyCursor, DEFAULT_PAGE_SIZE, encodeKeyCursor, pageFrom, PageRequest } from '../common/pagination';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import { QueueName } from '../queues/queue-names';
import { AudienceGraph, audienceGraph, findCycle, referrersOf, unknownReferences } from './audience-graph';
import {
  COMPUTE_JOB_NAME,
  COMPUTE_JOB_OPTIONS,
  ComputeAudienceJob,
  computeJobId,
  deletedJobId,
  intervalChangeJobId,
} from './audience-jobs';
import { audiencePredicate, storedAudiencePredicate } from './audience-predicate';
import {
  AudienceExplainView,
  AudienceListView,
  AudiencePreviewView,
  AudienceView,
  CreateAudienceDto,
  DEFAULT_REFRESH_INTERVAL_SECONDS,
  PREVIEW_SAMPLE_SIZE,
  PreviewAudienceDto,
  UpdateAudienceDto,
} from './audiences.dto';
import {
  AudienceCycleError,
  AudienceInUseError,
  AudienceNotFoundError,
  AudienceUsedByJourneysError,
  DuplicateAudienceKeyError,
  InvalidDefinitionError,
  TraitLevelMismatchError,
  UnknownAudienceReferenceError,
  UnknownTraitReferenceError,
} from './audiences.errors';
import { AudienceChanges, audienceCountQuery, AudienceRow, AudiencesRepository } from './audiences.repository';
import { DefinitionReader } from './definition-reader';
import {
  AudienceAst,
  referencedAudienceKeys,
  referencedAudienceKeysByLevel,
  referencedTraitKeysByLevel,
  SUBJECT_LEVELS,
  SubjectLevel,
} from './language/audience-ast';

/** A definition read and checked by the audience language: the AST and its canonical text. */
interface Definition {
  ast: AudienceAst;
  text: string;
}

@Injectable()
export class AudiencesService {
  constructor(
    private readonly repository: AudiencesRepository,
    private readonly clock: Clock,
    private readonly reader: DefinitionReader,
    @InjectQueue(QueueName.Compute) private readonly computeQueue: Queue<ComputeAudienceJob>,
  ) {}

  /**
   * Saves a new audience and asks the membership engine to compute it. Also the entry point for
   * other modules (funnels save drop-off audiences through it). `definition` is text or AST JSON.
   */
  async create(workspaceId: string, input: CreateAudienceDto): Promise<AudienceView> {
    const level = input.level ?? 'profile';
    const definition = await this.readDefinition(workspaceId, input.definition, level);
    const now = this.clock.now();
    const includeHistoricalData = input.includeHistoricalData ?? true;
    const row = await this.repository.withWorkspaceLock(workspaceId, async (tx) => {
      const graph = await this.loadGraph(workspaceId, tx);
      if (graph.has(input.key)) throw new DuplicateAudienceKeyError(input.key);
      checkReferences(graph, input.key, definition.ast);
      checkReferenceLevels(await this.levels(workspaceId, tx), definition.ast, level);
      await this.checkTraits(workspaceId, definition.ast, level, tx);
      return this.repository.insert(
        workspaceId,
        {
          key: input.key,
          name: input.name,
          level,
          definitionAst: toJson(definition.ast),
          definitionText: definition.text,
          includeHistoricalData,
          // Segment's meaning: an audience without historical data starts seeing events now.
          historyStartsAt: includeHistoricalData ? null : now,
          refreshIntervalSeconds: input.refreshIntervalSeconds ?? DEFAULT_REFRESH_INTERVAL_SECONDS,
          at: now,
        },
        tx,
      );
    });
    await this.enqueue({ workspaceId, audienceId: row.id, reason: 'created' }, computeJobId(row.id, row.version));
    return toView(row);
  }

  async list(workspaceId: string, page: PageRequest = {}): Promise<AudienceListView> {
    const limit = page.limit ?? DEFAULT_PAGE_SIZE;
    const afterKey = page.cursor === undefined ? undefined : decodeKeyCursor(page.cursor);
    const rows = await this.repository.list(workspaceId, limit + 1, afterKey);
    return pageFrom(rows, limit, (row) => encodeKeyCursor(row.key), toView);
  }

  async get(workspaceId: string, id: string): Promise<AudienceView> {
    return toView(await this.mustFind(workspaceId, id));
  }

  /**
   * A new definition or a change of includeHistoricalData is a new version (the engine records
   * transitions against it); the refresh interval is not. Any of the three asks for a computation.
   */
  async update(workspaceId: string, id: string, input: UpdateAudienceDto): Promise<AudienceView> {
    const now = this.clock.now();
    const { row, recompute, newVersion } = await this.repository.withWorkspaceLock(workspaceId, async (tx) => {
      const current = await this.mustFind(workspaceId, id, tx);
      const definition =
        input.definition === undefined
          ? undefined
          : await this.readDefinition(workspaceId, input.definition, current.level);
      const changes: AudienceChanges = { bumpVersion: false, at: now };
      if (input.name !== undefined) changes.name = input.name;
      // The printed text is canonical, so equal text means an equal AST.
      if (definition && definition.text !== current.definitionText) {
        checkReferences(await this.loadGraph(workspaceId, tx), current.key, definition.ast);
        checkReferenceLevels(await this.levels(workspaceId, tx), definition.ast, current.level);
        await this.checkTraits(workspaceId, definition.ast, current.level, tx);
        changes.definitionAst = toJson(definition.ast);
        changes.definitionText = definition.text;
        changes.bumpVersion = true;
      }
      if (input.includeHistoricalData !== undefined && input.includeHistoricalData !== current.includeHistoricalData) {
        changes.includeHistoricalData = input.includeHistoricalData;
        changes.historyStartsAt = input.includeHistoricalData ? null : now;
        changes.bumpVersion = true;
      }
      const intervalChanged =
        input.refreshIntervalSeconds !== undefined && input.refreshIntervalSeconds !== current.refreshIntervalSeconds;
      if (intervalChanged) changes.refreshIntervalSeconds = input.refreshIntervalSeconds;
      const updated = await this.repository.update(workspaceId, id, changes, tx);
      const recompute = changes.bumpVersion || intervalChanged;
      return { row: updated, recompute, newVersion: changes.bumpVersion === true };
    });
    if (recompute) {
      const jobId = newVersion
        ? computeJobId(row.id, row.version)
        : intervalChangeJobId(row.id, row.version, row.refreshIntervalSeconds);
      await this.enqueue({ workspaceId, audienceId: row.id, reason: 'updated' }, jobId);
    }
    return toView(row);
  }

  /** Refused while another audience refers to this one or a journey enters from it, so nothing is left dangling. */
  async delete(workspaceId: string, id: string): Promise<void> {
    await this.repository.withWorkspaceLock(workspaceId, async (tx) => {
      const current = await this.mustFind(workspaceId, id, tx);
      const referrers = referrersOf(await this.loadGraph(workspaceId, tx), current.key);
      if (referrers.length > 0) throw new AudienceInUseError(current.key, referrers);
      const journeys = await this.repository.journeysUsing(workspaceId, current.key, tx);
      if (journeys.length > 0) throw new AudienceUsedByJourneysError(current.key, journeys);
      await this.repository.delete(workspaceId, id, tx);
    });
    await this.enqueue({ workspaceId, audienceId: id, reason: 'deleted' }, deletedJobId(id));
  }

  /** Count and sample of a definition as of now, without saving anything. */
  async preview(workspaceId: string, input: PreviewAudienceDto): Promise<AudiencePreviewView> {
    const level = input.level ?? 'profile';
    const definition = await this.readDefinition(workspaceId, input.definition, level);
    const unknown = unknownReferences(await this.loadGraph(workspaceId), referencedAudienceKeys(definition.ast));
    if (unknown.length > 0) throw new UnknownAudienceReferenceError(unknown);
    checkReferenceLevels(await this.levels(workspaceId), definition.ast, level);
    await this.checkTraits(workspaceId, definition.ast, level);
    const now = this.clock.now();
    // As if saved now: without historical data, event conditions start seeing events now.
    const unsaved = {
      workspaceId,
      includeHistoricalData: input.includeHistoricalData ?? true,
      historyStartsAt: null,
      createdAt: now,
    };
    const predicate = audiencePredicate(definition.ast, unsaved, now, level);
    const { count, sample } = await this.repository.preview(workspaceId, predicate, PREVIEW_SAMPLE_SIZE, level);
    return { count, sample, ...sqlView(workspaceId, predicate, level) };
  }

  /** The SQL a computation of the saved audience would run now, and Postgres's plan for it. */
  async explain(workspaceId: string, id: string): Promise<AudienceExplainView> {
    const row = await this.mustFind(workspaceId, id);
    const predicate = storedAudiencePredicate(row, this.clock.now());
    const plan = await this.repository.explainCount(workspaceId, predicate, row.level);
    return { ...sqlView(workspaceId, predicate, row.level), plan };
  }

  private async readDefinition(workspaceId: string, input: unknown, level: SubjectLevel): Promise<Definition> {
    const read = await this.reader.read(workspaceId, input, level);
    if (!read.ok) throw new InvalidDefinitionError(read.errors.map((e) => ({ field: e.path, reason: e.message })));
    return { ast: read.ast, text: read.text };
  }

  private async mustFind(workspaceId: string, id: string, tx?: Tx): Promise<AudienceRow> {
    const row = await this.repository.find(workspaceId, id, tx);
    if (!row) throw new AudienceNotFoundError();
    return row;
  }

  /**
   * Every `computed <key>` must name a computed trait of the workspace at its level: a profile-level
   * one in a profile condition (also inside `any member …`), an account-level one at account level.
   */
  private async checkTraits(workspaceId: string, ast: AudienceAst, level: SubjectLevel, tx?: Tx): Promise<void> {
    const byLevel = referencedTraitKeysByLevel(ast, level);
    const keys = [...new Set([...byLevel.profile, ...byLevel.account])];
    const levels = await this.repository.traitLevels(workspaceId, keys, tx);
    const unknown = keys.filter((key) => !levels.has(key));
    if (unknown.length > 0) throw new UnknownTraitReferenceError(unknown);
    const misplaced = SUBJECT_LEVELS.flatMap((at) =>
      byLevel[at].filter((key) => levels.get(key) !== at).map((key) => ({ key, at })),
    );
    if (misplaced.length > 0) throw new TraitLevelMismatchError(misplaced);
  }

  private async loadGraph(workspaceId: string, tx?: Tx): Promise<AudienceGraph> {
    return audienceGraph(await this.repository.listDefinitions(workspaceId, tx));
  }

  /** The level of every audience of the workspace, by key. */
  private async levels(workspaceId: string, tx?: Tx): Promise<ReadonlyMap<string, SubjectLevel>> {
    return new Map((await this.repository.listDefinitions(workspaceId, tx)).map((row) => [row.key, row.level]));
  }

  private async enqueue(job: ComputeAudienceJob, jobId: string): Promise<void> {
    await this.computeQueue.add(COMPUTE_JOB_NAME, job, { ...COMPUTE_JOB_OPTIONS, jobId });
  }
}

/** Every `in audience` must name an existing audience, and none may lead back to `key`. */
function checkReferences(graph: AudienceGraph, key: string, ast: AudienceAst): void {
  const references = referencedAudienceKeys(ast);
  const unknown = unknownReferences(graph, references, key);
  if (unknown.length > 0) throw new UnknownAudienceReferenceError(unknown);
  const cycle = findCycle(graph, key, references);
  if (cycle) throw new AudienceCycleError(cycle);
}

/**
 * `in audience` names an audience of the level it is written at: an account audience at the top of
 * an account definition, a profile audience in a profile definition or a member condition.
 */
function checkReferenceLevels(levels: ReadonlyMap<string, SubjectLevel>, ast: AudienceAst, level: SubjectLevel): void {
  const byLevel = referencedAudienceKeysByLevel(ast, level);
  const problems = (['profile', 'account'] as const).flatMap((wanted) =>
    byLevel[wanted]
      .filter((key) => levels.has(key) && levels.get(key) !== wanted)
      .map((key) => ({
        field: 'definition',
        reason:
          wanted === 'account'
            ? `refers to audience "${key}", a profile audience, where an account audience belongs (use it in a member condition: \`any member in audience "${key}"\`)`
            : `refers to audience "${key}", an account audience, where a profile audience belongs`,
      })),
  );
  if (problems.length > 0) throw new InvalidDefinitionError(problems);
}

function toJson(ast: AudienceAst): Prisma.InputJsonValue {
  return ast as unknown as Prisma.InputJsonValue;
}

function sqlView(
  workspaceId: string,
  predicate: Prisma.Sql,
  level: SubjectLevel = 'profile',
): { sql: string; params: unknown[] } {
  const query = audienceCountQuery(workspaceId, predicate, level);
  return { sql: query.text, params: query.values };
}

function toView(row: AudienceRow): AudienceView {
  return {
    id: row.id,
    key: row.key,
    name: row.name,
    level: row.level,
    definitionText: row.definitionText,
    definitionAst: row.definitionAst,
    includeHistoricalData: row.includeHistoricalData,
    historyStartsAt: row.historyStartsAt?.toISOString() ?? null,
    refreshIntervalSeconds: row.refreshIntervalSeconds,
    version: row.version,
    status: row.status,
    statusReason: row.statusReason,
    memberCount: row.memberCount,
    lastComputedAt: row.lastComputedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
