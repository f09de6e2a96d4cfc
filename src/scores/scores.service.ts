import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';

import { storedTraitReferences } from '../audiences/audience-predicate';
import { referencedAudienceKeys, referencedTraitKeys } from '../audiences/language/audience-language';
import { Clock } from '../common/clock';
import { decodeKeyCursor, DEFAULT_PAGE_SIZE, encodeKeyCursor, pageFrom, PageRequest } from '../common/pagination';
import type { FieldProblem } from '../common/problems';
import type { Tx } from '../database/transactions';
import { Prisma } from '../generated/prisma/client';
import { QueueName } from '../queues/queue-names';
import {
  bandOf,
  derivedKeys,
  keyProblems,
  readScoreDefinition,
  readsScore,
  ScoreDefinition,
  ScoreLevel,
  scoreOf,
  topLevelComputedKeys,
} from './score-definition';
import {
  COMPUTE_SCORE_JOB_NAME,
  COMPUTE_SCORE_JOB_OPTIONS,
  ComputeScoreJob,
  computeScoreJobId,
  deletedScoreJobId,
  manualScoreJobId,
  scoreSettingsJobId,
} from './score-jobs';
import { compileScore, explainQuery } from './score-sql';
import {
  CreateScoreDto,
  DEFAULT_SCORE_REFRESH_SECONDS,
  DistributionQueryDto,
  ScoreComputeView,
  ScoreDistributionView,
  ScoreExplainView,
  ScoreHistoryView,
  ScoreListView,
  ScoreView,
  SubjectQueryDto,
  UpdateScoreDto,
} from './scores.dto';
import {
  DuplicateScoreKeyError,
  InvalidScoreError,
  ScoreDefinitionError,
  ScoreInUseError,
  ScoreNotFoundError,
  StoredScoreInvalidError,
  SubjectNotFoundError,
} from './scores.errors';
import { ScoreChanges, ScoreRow, ScoresRepository } from './scores.repository';
import { storedPeriod, storedScoreDefinition } from './stored-score';

interface Subject {
  id: string;
  field: 'profileId' | 'accountId';
  value: string;
}

/** Adoption scores over REST; the score computation consumes the `compute-scores` queue. */
@Injectable()
export class ScoresService {
  constructor(
    private readonly repository: ScoresRepository,
    private readonly clock: Clock,
    @InjectQueue(QueueName.ComputeScores) private readonly queue: Queue<ComputeScoreJob>,
  ) {}

  async create(workspaceId: string, input: CreateScoreDto): Promise<ScoreView> {
    const level = input.level ?? 'profile';
    const keyIssues = keyProblems(input.key);
    if (keyIssues.length > 0) throw new InvalidScoreError(keyIssues);
    const definition = read({ components: input.components, bands: input.bands }, level);
    const now = this.clock.now();
    const row = await this.repository.withWorkspaceLock(workspaceId, async (tx) => {
      await this.checkReferences(workspaceId, definition, level, tx);
      const [taken] = await this.repository.takenKeys(workspaceId, [input.key, ...derivedKeys(input.key)], null, tx);
      if (taken) throw new DuplicateScoreKeyError(taken.key, taken.owner);
      return this.repository.insert(
        workspaceId,
        {
          key: input.key,
          name: input.name,
          level,
          ...stored(definition),
          snapshotPeriod: input.snapshot ?? 'weekly',
          refreshIntervalSeconds: input.refreshIntervalSeconds ?? DEFAULT_SCORE_REFRESH_SECONDS,
          at: now,
        },
        tx,
      );
    });
    await this.enqueue({ workspaceId, scoreId: row.id, reason: 'created' }, computeScoreJobId(row.id, row.version));
    return toView(row);
  }

  async list(workspaceId: string, page: PageRequest = {}): Promise<ScoreListView> {
    const limit = page.limit ?? DEFAULT_PAGE_SIZE;
    const afterKey = page.cursor === undefined ? undefined : decodeKeyCursor(page.cursor);
    const rows = await this.repository.list(workspaceId, limit + 1, afterKey);
    return pageFrom(rows, limit, (row) => encodeKeyCursor(row.key), toView);
  }

  async get(workspaceId: string, id: string): Promise<ScoreView> {
    return toView(await this.mustFind(workspaceId, id));
  }

  /** New components or bands are a new version and a new computation; new settings reschedule. */
  async update(workspaceId: string, id: string, input: UpdateScoreDto): Promise<ScoreView> {
    const now = this.clock.now();
    const { row, recompute, newVersion } = await this.repository.withWorkspaceLock(workspaceId, async (tx) => {
      const current = await this.mustFind(workspaceId, id, tx);
      const changes: ScoreChanges = { bumpVersion: false, at: now };
      if (input.name !== undefined) changes.name = input.name;
      if (input.components !== undefined || input.bands !== undefined) {
        // Both sent: a stored definition that no longer validates can be replaced.
        const both = input.components !== undefined && input.bands !== undefined;
        const before = both ? storedOrUndefined(current) : definitionOf(current);
        const definition = read(
          {
            components: input.components ?? before?.components.map((c) => ({ ...c, condition: c.conditionAst })),
            bands: input.bands ?? before?.bands,
          },
          current.level,
        );
        await this.checkReferences(workspaceId, definition, current.level, tx);
        if (!before || fingerprint(definition) !== fingerprint(before)) {
          Object.assign(changes, stored(definition));
          changes.bumpVersion = true;
        }
      }
      if (input.snapshot !== undefined && input.snapshot !== current.snapshotPeriod) {
        changes.snapshotPeriod = input.snapshot;
      }
      if (
        input.refreshIntervalSeconds !== undefined &&
        input.refreshIntervalSeconds !== current.refreshIntervalSeconds
      ) {
        changes.refreshIntervalSeconds = input.refreshIntervalSeconds;
      }
      const settings = changes.snapshotPeriod !== undefined || changes.refreshIntervalSeconds !== undefined;
      const updated = await this.repository.update(workspaceId, id, changes, tx);
      return { row: updated, recompute: changes.bumpVersion || settings, newVersion: changes.bumpVersion };
    });
    if (recompute) {
      const jobId = newVersion
        ? computeScoreJobId(row.id, row.version)
        : scoreSettingsJobId(row.id, row.version, now.getTime());
      await this.enqueue({ workspaceId, scoreId: row.id, reason: 'updated' }, jobId);
    }
    return toView(row);
  }

  /** Refused while an audience reads the score (its value, band or change). */
  async delete(workspaceId: string, id: string): Promise<void> {
    await this.repository.withWorkspaceLock(workspaceId, async (tx) => {
      const current = await this.mustFind(workspaceId, id, tx);
      const readers = (await this.repository.audienceDefinitions(workspaceId, tx))
        .filter((audience) => storedTraitReferences(audience).some((key) => readsScore(key, current.key)))
        .map((audience) => audience.key)
        .sort();
      if (readers.length > 0) throw new ScoreInUseError(current.key, readers);
      await this.repository.delete(workspaceId, id, tx);
    });
    await this.enqueue({ workspaceId, scoreId: id, reason: 'deleted' }, deletedScoreJobId(id));
  }

  async compute(workspaceId: string, id: string): Promise<ScoreComputeView> {
    await this.mustFind(workspaceId, id);
    const jobId = manualScoreJobId(id, this.clock.now().getTime());
    await this.enqueue({ workspaceId, scoreId: id, reason: 'manual' }, jobId);
    return { status: 'queued', jobId };
  }

  /** Which components hold for one profile or account now, what they earn, the total and the band. */
  async explain(workspaceId: string, id: string, query: SubjectQueryDto): Promise<ScoreExplainView> {
    const score = await this.mustFind(workspaceId, id);
    const subject = await this.subject(workspaceId, score.level, query);
    const definition = definitionOf(score);
    const now = this.clock.now();
    const row = await this.repository.explain(
      workspaceId,
      explainQuery(compileScore(workspaceId, score.level, definition, now), subject.id),
    );
    if (!row) throw new SubjectNotFoundError(subject.field, subject.value);
    const holds = definition.components.map((_, i) => row[`c${i}`] === true);
    const total = scoreOf(definition, holds);
    return {
      key: score.key,
      [subject.field]: subject.value,
      components: definition.components.map((c, i) => ({
        name: c.name,
        condition: c.condition,
        points: c.points,
        holds: holds[i]!,
        earned: holds[i] ? c.points : 0,
      })),
      total,
      band: bandOf(definition.bands, total),
      stored: await this.repository.currentValue(score.id, subject.id),
      at: now.toISOString(),
    };
  }

  /** One profile's or account's recorded series, oldest period first, and its current value. */
  async history(workspaceId: string, id: string, query: SubjectQueryDto): Promise<ScoreHistoryView> {
    const score = await this.mustFind(workspaceId, id);
    const subject = await this.subject(workspaceId, score.level, query);
    const points = await this.repository.history(workspaceId, score.id, subject.id);
    return {
      key: score.key,
      snapshot: storedPeriod(score),
      items: points.map((p) => ({ periodStart: new Date(p.periodStart).toISOString(), value: p.value, band: p.band })),
      current: await this.repository.currentValue(score.id, subject.id),
    };
  }

  /** Per recorded period starting in [from, to), how many were in each band (every band listed). */
  async distribution(workspaceId: string, id: string, query: DistributionQueryDto): Promise<ScoreDistributionView> {
    const score = await this.mustFind(workspaceId, id);
    const from = query.from === undefined ? new Date(0) : new Date(query.from);
    const to = query.to === undefined ? new Date('9999-01-01T00:00:00Z') : new Date(query.to);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || to <= from) {
      throw new InvalidScoreError([{ field: 'to', reason: 'must be a valid instant after from' }]);
    }
    const bandNames = definitionOf(score).bands.map((b) => b.name);
    const rows = await this.repository.distribution(workspaceId, score.id, from, to);
    const periods = new Map<string, Record<string, number>>();
    for (const row of rows) {
      const at = new Date(row.periodStart).toISOString();
      const counts = periods.get(at) ?? Object.fromEntries(bandNames.map((name) => [name, 0]));
      if (row.band !== null) counts[row.band] = (counts[row.band] ?? 0) + row.count;
      periods.set(at, counts);
    }
    return {
      key: score.key,
      bandNames,
      items: [...periods].map(([periodStart, bands]) => ({
        periodStart,
        total: Object.values(bands).reduce((sum, n) => sum + n, 0),
        bands,
      })),
    };
  }

  private async subject(workspaceId: string, level: ScoreLevel, query: SubjectQueryDto): Promise<Subject> {
    const wanted = level === 'account' ? 'accountId' : 'profileId';
    const other = level === 'account' ? 'profileId' : 'accountId';
    const value = query[wanted];
    if (query[other] !== undefined || value === undefined) {
      throw new InvalidScoreError([
        { field: wanted, reason: `is required for a ${level}-level score (and ${other} is not accepted)` },
      ]);
    }
    const id =
      level === 'account'
        ? await this.repository.accountId(workspaceId, value)
        : await this.repository.liveProfile(workspaceId, value);
    if (!id) throw new SubjectNotFoundError(wanted, value);
    return { id, field: wanted, value };
  }

  /**
   * Components may read computed traits (profile level: `computed logins_14d >= 3`, at account level
   * inside a member condition) but not scores, and may name existing audiences only.
   */
  private async checkReferences(workspaceId: string, definition: ScoreDefinition, level: ScoreLevel, tx: Tx) {
    const audiences = await this.repository.audienceLevels(workspaceId, tx);
    const problems: FieldProblem[] = [];
    for (const [i, component] of definition.components.entries()) {
      const field = `components[${i}].condition`;
      const unknownTraits = await this.repository.unknownTraitKeys(
        workspaceId,
        referencedTraitKeys(component.conditionAst),
        tx,
      );
      for (const key of unknownTraits) {
        problems.push({
          field,
          reason: `reads "computed ${key}", which is not a profile-level computed trait of the workspace`,
        });
      }
      if (level === 'account') {
        for (const key of topLevelComputedKeys(component.conditionAst)) {
          problems.push({
            field,
            reason: `reads "computed ${key}" about the account: computed traits are about people, say which members (\`any member computed ${key} …\`)`,
          });
        }
      }
      for (const key of referencedAudienceKeys(component.conditionAst)) {
        if (!audiences.has(key)) problems.push({ field, reason: `refers to audience "${key}", which does not exist` });
      }
    }
    if (problems.length > 0) throw new InvalidScoreError(problems);
  }

  private async mustFind(workspaceId: string, id: string, tx?: Tx): Promise<ScoreRow> {
    const row = await this.repository.find(workspaceId, id, tx);
    if (!row) throw new ScoreNotFoundError();
    return row;
  }

  private async enqueue(job: ComputeScoreJob, jobId: string): Promise<void> {
    await this.queue.add(COMPUTE_SCORE_JOB_NAME, job, { ...COMPUTE_SCORE_JOB_OPTIONS, jobId });
  }
}

/** A stored definition for the API: one that no longer validates is a 409 that says what to do. */
function definitionOf(row: ScoreRow): ScoreDefinition {
  try {
    return storedScoreDefinition(row);
  } catch (error) {
    if (error instanceof ScoreDefinitionError) throw new StoredScoreInvalidError(error);
    throw error;
  }
}

function storedOrUndefined(row: ScoreRow): ScoreDefinition | undefined {
  try {
    return storedScoreDefinition(row);
  } catch (error) {
    if (error instanceof ScoreDefinitionError) return undefined;
    throw error;
  }
}

function read(input: { components: unknown; bands: unknown }, level: ScoreLevel): ScoreDefinition {
  const result = readScoreDefinition(input, level);
  if (!result.ok) throw new InvalidScoreError(result.problems);
  return result.value;
}

/** Equal for definitions that compute the same thing the same way (names included). */
function fingerprint(definition: ScoreDefinition): string {
  return JSON.stringify([
    definition.components.map((c) => [c.name, c.condition, c.points]),
    definition.bands.map((b) => [b.name, b.min]),
  ]);
}

/** The canonical stored form: each condition as its text and its AST. */
function stored(definition: ScoreDefinition): { components: Prisma.InputJsonValue; bands: Prisma.InputJsonValue } {
  return {
    components: definition.components.map((c) => ({
      name: c.name,
      condition: c.condition,
      conditionAst: c.conditionAst as unknown as Prisma.InputJsonValue,
      points: c.points,
    })),
    bands: definition.bands.map((b) => ({ name: b.name, min: b.min })),
  };
}

function toView(row: ScoreRow): ScoreView {
  const components = Array.isArray(row.components) ? (row.components as unknown as ScoreView['components']) : [];
  const bands = Array.isArray(row.bands) ? (row.bands as unknown as ScoreView['bands']) : [];
  return {
    id: row.id,
    key: row.key,
    bandKey: derivedKeys(row.key)[0]!,
    name: row.name,
    level: row.level,
    components: components.map((c) => ({ name: c.name, condition: c.condition, points: c.points })),
    bands,
    maxScore: components.reduce((sum, c) => sum + c.points, 0),
    snapshot: row.snapshotPeriod,
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
