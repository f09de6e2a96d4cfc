/**
 * The meaning of an adoption score in plain TypeScript: for every live profile (or every account),
 * the sum of the points of the components whose condition holds — each condition decided by the
 * audience reference evaluators — and the band of the highest `min` at or below it. The
 * specification src/scores/score-sql.ts is tested against.
 */
import type { ScoreDefinition, ScoreLevel } from '../../src/scores/score-definition';
import { AccountEvaluatorData, evaluateAccountAudience } from './account-reference-evaluator';
import { evaluateAudience, EvaluatorContext } from './reference-evaluator';

export interface ReferenceScore {
  value: number;
  band: string;
}

/** Subject id → score, for every live profile (profile level) or every account (account level). */
export function evaluateScore(
  definition: ScoreDefinition,
  level: ScoreLevel,
  data: AccountEvaluatorData,
  ctx: EvaluatorContext,
): Map<string, ReferenceScore> {
  const subjects = level === 'account' ? data.accounts.map((a) => a.id) : data.profiles.map((p) => p.id);
  const holding = definition.components.map(
    (component) =>
      new Set(
        level === 'account'
          ? evaluateAccountAudience(component.conditionAst, data, ctx)
          : evaluateAudience(component.conditionAst, data, ctx),
      ),
  );
  const bands = [...definition.bands].sort((a, b) => b.min - a.min);
  return new Map(
    subjects.map((id) => {
      const value = definition.components.reduce((sum, c, i) => sum + (holding[i]!.has(id) ? c.points : 0), 0);
      const band = bands.find((b) => value >= b.min);
      if (!band) throw new Error(`no band covers ${value}`);
      return [id, { value, band: band.name }];
    }),
  );
}
