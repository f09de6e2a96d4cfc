/**
 * "Reached step k but not step k+1 within the window" as an audience-language sequence with a
 * negated last step, so that the saved audience reads (and can be edited) like any other:
 * `performed "Product Added" then performed "Checkout Started" then not performed "Order Completed" within 14 days`.
 */
import { printAudience, SequenceCondition, SequenceStep } from '../audiences/language/audience-language';
import { FunnelStepSpec } from './funnel-spec';
import { FunnelRequestError } from './funnels.errors';

function sequenceStep(step: FunnelStepSpec): SequenceStep {
  return step.where.length > 0 ? { event: step.event, where: step.where } : { event: step.event };
}

export function dropOffCondition(
  steps: readonly FunnelStepSpec[],
  windowDays: number,
  dropOffAfterStep: number,
): SequenceCondition {
  const next = steps[dropOffAfterStep];
  if (dropOffAfterStep < 1 || !next) {
    throw new FunnelRequestError(
      'dropOffAfterStep',
      `must be between 1 and ${steps.length - 1} (the last step but one)`,
    );
  }
  return {
    type: 'sequence',
    steps: steps.slice(0, dropOffAfterStep).map(sequenceStep),
    notFollowedBy: sequenceStep(next),
    conversionWindow: { amount: windowDays, unit: 'days' },
  };
}

export function dropOffDefinition(
  steps: readonly FunnelStepSpec[],
  windowDays: number,
  dropOffAfterStep: number,
): string {
  return printAudience(dropOffCondition(steps, windowDays, dropOffAfterStep));
}
