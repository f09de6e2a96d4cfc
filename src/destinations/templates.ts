import { Liquid, Template } from 'liquidjs';
import { LRUCache } from 'lru-cache';

/** The variables a destination template may use; anything else is refused when the destination is saved. */
export const TEMPLATE_VARIABLES = [
  'profile',
  'traits',
  'identities',
  'email',
  'audience',
  'transition',
  'unsubscribe_url',
];

/** What a template sees when one delivery is rendered. */
export interface TemplateScope {
  profile: { id: string; traits: Record<string, unknown>; identities: { type: string; value: string }[] };
  traits: Record<string, unknown>;
  /** First value of each identity type: `identities.user_id`, `identities.email`… */
  identities: Record<string, string>;
  email: string | null;
  audience: { id: string; key: string; name: string };
  transition: { kind: 'entered' | 'exited'; at: string };
  unsubscribe_url: string;
}

export class TemplateError extends Error {}

/**
 * Strict on purpose: an unknown filter is refused when the destination is saved, and a variable a
 * profile lacks (`{{ traits.first_name }}` for someone without one) fails the delivery instead of
 * mailing "Hi ,". `{{ traits.first_name | default: "there" }}` and `{% if %}` stay lenient.
 * `templates: {}` keeps include/render/layout away from the file system.
 */
const common = {
  strictFilters: true,
  strictVariables: true,
  lenientIf: true,
  ownPropertyOnly: true,
  templates: {},
  parseLimit: 1e6,
  renderLimit: 1_000,
  memoryLimit: 1e7,
} as const;

/** HTML bodies escape every output by default; `| raw` opts out. */
const htmlEngine = new Liquid({ ...common, outputEscape: 'escape' });
const textEngine = new Liquid({ ...common });

export type TemplateKind = 'html' | 'text';

function engineFor(kind: TemplateKind): Liquid {
  return kind === 'html' ? htmlEngine : textEngine;
}

/** Parses a template and checks its variables; throws TemplateError with a readable reason. */
export function compileTemplate(source: string, kind: TemplateKind): Template[] {
  const engine = engineFor(kind);
  let parsed: Template[];
  try {
    parsed = engine.parse(source);
  } catch (error) {
    throw new TemplateError(firstLine(error));
  }
  let globals: string[];
  try {
    globals = engine.globalVariablesSync(parsed);
  } catch (error) {
    // Analysis follows include/render tags, which have nothing to include here.
    throw new TemplateError(firstLine(error));
  }
  const unknown = globals.filter((name) => !TEMPLATE_VARIABLES.includes(name));
  if (unknown.length > 0) {
    throw new TemplateError(
      `uses unknown variable ${unknown.map((n) => `"${n}"`).join(', ')}; available: ${TEMPLATE_VARIABLES.join(', ')}`,
    );
  }
  return parsed;
}

/**
 * Parsed templates by source: a destination renders the same few templates many times. Least
 * recently used ones go first when full, so busy destinations keep theirs.
 */
const cache = new LRUCache<string, Template[]>({ max: 500 });

/**
 * Synchronous on purpose: nothing a template can do waits on I/O, and the async render costs a
 * promise per node. It also keeps `renderLimit` (wall time) about this render alone: interleaved
 * async renders of many deliveries at once counted each other's time.
 */
export function renderTemplate(source: string, kind: TemplateKind, scope: TemplateScope): string {
  const key = `${kind}\u0000${source}`;
  let parsed = cache.get(key);
  if (!parsed) {
    parsed = compileTemplate(source, kind);
    cache.set(key, parsed);
  }
  try {
    return String(engineFor(kind).renderSync(parsed, scope));
  } catch (error) {
    throw new TemplateError(firstLine(error));
  }
}

/** Header values (the subject) are rendered as text and may never carry a line break. */
export function headerSafe(value: string): string {
  return value.replace(/[\r\n\u2028\u2029]+/g, ' ').trim();
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
