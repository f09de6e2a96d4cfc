/**
 * Reads a funnel request after class-validator has checked its shape: parses step filters with the
 * audience language (so a filter means the same in funnels and audiences), resolves instants and
 * breakdown paths. Every problem is a FunnelRequestError naming its field, e.g.
 * `steps[2].where: line 1, col 5: expected a property name`.
 */
import {
  AudienceParseError,
  parseFilters,
  parseInstant,
  parsePropertyPath as parsePath,
  PropertyFilter,
} from '../audiences/language/audience-language';
import { BreakdownSpec, BreakdownType, FUNNEL_LIMITS, FunnelStepSpec } from './funnel-spec';
import { FunnelRequestError } from './funnels.errors';

export interface StepInput {
  event: string;
  where?: string;
}

/**
 * Parses `total > 100`, `plan = "Pro" and total > 100` or the same in parentheses (the audience
 * language's filter start rule). Errors name the line and column in the filter as written.
 */
export function parseStepFilters(text: string, field: string): PropertyFilter[] {
  try {
    return parseFilters(text);
  } catch (error) {
    if (error instanceof AudienceParseError) throw new FunnelRequestError(field, error.message);
    throw error;
  }
}

export function readSteps(steps: readonly StepInput[]): FunnelStepSpec[] {
  return steps.map((step, index) => {
    const where = step.where === undefined ? [] : parseStepFilters(step.where, `steps[${index}].where`);
    return step.where === undefined
      ? { event: step.event, where }
      : { event: step.event, whereText: step.where, where };
  });
}

/** An instant as the audience language reads dates: `2026-10-01` is midnight UTC, no offset = UTC. */
export function readInstant(text: string, field: string): Date {
  const millis = parseInstant(text);
  if (millis === undefined) {
    throw new FunnelRequestError(
      field,
      'must be an ISO 8601 date or date-time, e.g. 2026-10-01 or 2026-10-01T12:00:00Z',
    );
  }
  return new Date(millis);
}

export function readPeriod(fromText: string, toText: string): { from: Date; to: Date } {
  const from = readInstant(fromText, 'from');
  const to = readInstant(toText, 'to');
  if (to.getTime() <= from.getTime()) throw new FunnelRequestError('to', 'must be after from');
  if (to.getTime() - from.getTime() > FUNNEL_LIMITS.maxRangeDays * 86_400_000) {
    throw new FunnelRequestError('to', `must be at most ${FUNNEL_LIMITS.maxRangeDays} days after from`);
  }
  return { from, to };
}

/**
 * Short names for the context fields growth teams break funnels down by, as Segment's libraries
 * fill them. Any other name is read as a path into the context (`campaign.source`, `page.url`).
 */
export const CONTEXT_FIELDS: Readonly<Record<string, readonly string[]>> = {
  referrer: ['page', 'referrer'],
  url: ['page', 'url'],
  path: ['page', 'path'],
  utm_source: ['campaign', 'source'],
  utm_medium: ['campaign', 'medium'],
  utm_campaign: ['campaign', 'name'],
  utm_term: ['campaign', 'term'],
  utm_content: ['campaign', 'content'],
  device_type: ['device', 'type'],
  'device type': ['device', 'type'],
  os: ['os', 'name'],
  locale: ['locale'],
  timezone: ['timezone'],
  country: ['location', 'country'],
  city: ['location', 'city'],
  library: ['library', 'name'],
};

/** A property path in the audience language's syntax: `plan`, `address.city`, `"Lifetime Value"`. */
export function parsePropertyPath(text: string, field: string): string[] {
  try {
    return parsePath(text);
  } catch (error) {
    if (!(error instanceof AudienceParseError)) throw error;
  }
  throw new FunnelRequestError(
    field,
    'must be a property name or a path such as address.city; quote names with spaces: "Lifetime Value"',
  );
}

export function readBreakdown(input: { type: BreakdownType; property: string; limit?: number }): BreakdownSpec {
  const known = input.type === 'context' ? CONTEXT_FIELDS[input.property] : undefined;
  const path = known ? [...known] : parsePropertyPath(input.property, 'breakdown.property');
  return {
    type: input.type,
    property: input.property,
    path,
    limit: input.limit ?? FUNNEL_LIMITS.defaultBreakdownLimit,
  };
}
