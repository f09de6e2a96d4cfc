import { readScoreDefinition, ScoreDefinition, ScoreLevel, SNAPSHOT_PERIODS, SnapshotPeriod } from './score-definition';
import { ScoreDefinitionError } from './scores.errors';

/** What a stored score row holds of its definition. */
export interface StoredScore {
  id: string;
  workspaceId: string;
  key: string;
  level: ScoreLevel;
  components: unknown;
  bands: unknown;
  snapshotPeriod: string;
}

/**
 * The stored components and bands read again through the definition reader (they were stored in
 * canonical form, each condition as its AST), so a row edited by hand or written by an older
 * grammar fails with ScoreDefinitionError instead of compiling something else.
 */
export function storedScoreDefinition(score: StoredScore): ScoreDefinition {
  const components = Array.isArray(score.components)
    ? score.components.map((c: unknown) => {
        const row = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>;
        return { name: row.name, condition: row.conditionAst, points: row.points };
      })
    : score.components;
  const read = readScoreDefinition({ components, bands: score.bands }, score.level);
  if (!read.ok) throw new ScoreDefinitionError(score.id, read.problems);
  return read.value;
}

export function storedPeriod(score: Pick<StoredScore, 'snapshotPeriod'>): SnapshotPeriod {
  const period = SNAPSHOT_PERIODS.find((p) => p === score.snapshotPeriod);
  return period ?? 'weekly';
}
