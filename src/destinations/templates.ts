import { Liquid, Template } from 'liquidjs';
import { LRUCache } from 'lru-cache';

/** The variables a destination template may use; anything else is refused when the destination is saved. */
export const TEMPLATE_VARIABLES = [
  'profile',
  'traits',
  'computed',
  'identities',
  'email',
  'audience',
  'account',
  'transition',
  'unsubscribe_url',
  // Journey sends only: the journey and step, and the event that started the run.
  'journey',
  'entry_event',
];

/** What a template sees when one delivery is rendered. */
export interface TemplateScope {
  profile: { id: string; traits: Record<string, unknown>; identities: { type: string; value: string }[] };
  traits: Record<string, unknown>;
  /** Computed trait values by key: `{{ computed.logins_7d }}`. */
  computed: Record<string, unknown>;
  /** First value of each identity type: `identities.user_id`, `identities.email`… */
  identities: Record<string, string>;
  email: string | null;
  audience: { id: string; key: string; name: string };
  /**
   * An account audience's account (its groupId, traits, members and members active within 14 days
   * of the transition); null for a profile audience. The recipient is `traits`/`profile`.
   */
  account: {
    groupId: string;
    traits: Record<string, unknown>;
    members: number;
    activeMembers14d: number;
    /** Account-level computed trait values by key: `{{ account.computed.active_members_14d }}`. */
    computed: Record<string, unknown>;
  } | null;
  transition: { kind: 'entered' | 'exited'; at: string };
  unsubscribe_url: string;
  /** Journey sends: the journey and step, and the event that started the run (`entry_event.properties`). */
  journey?: { id: string; key: string; name: string; step: string; variant: string | null };
  entry_event?: { name?: string; properties?: Record<string, unknown>; timestamp?: string } | null;
}

export class TemplateError extends Error {}

/**
 * What one email's templates may cost. Liquid checks the time limit between nodes and charges
 * ranges, arrays and strings that filters build to the memory limit, so a node cannot run long
 * on its own either: `{% for i in (1..1000) %}{% for j in (1..1000) %}` is over the memory limit
 * at once. Both hold per render (renders are synchronous, each with its own clock), in a worker
 * thread (template-renderer.ts) so that even a render at its limit never stalls the event loop.
 */
export const TEMPLATE_MEMORY_LIMIT = 1e6;

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
  memoryLimit: TEMPLATE_MEMORY_LIMIT,
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

/** Per-render limits: time in ms; a sample render (when saving) does not insist on every variable. */
export interface RenderLimits {
  renderLimitMs: number;
  sample?: boolean;
}

const DEFAULT_LIMITS: RenderLimits = { renderLimitMs: 1_000 };

/**
 * Synchronous on purpose: nothing a template can do waits on I/O, and the async render costs a
 * promise per node. It also keeps `renderLimit` (wall time) about this render alone: interleaved
 * async renders of many deliveries at once counted each other's time.
 */
export function renderTemplate(
  source: string,
  kind: TemplateKind,
  scope: TemplateScope,
  limits: RenderLimits = DEFAULT_LIMITS,
): string {
  const key = `${kind}\u0000${source}`;
  let parsed = cache.get(key);
  if (!parsed) {
    parsed = compileTemplate(source, kind);
    cache.set(key, parsed);
  }
  try {
    return String(
      engineFor(kind).renderSync(parsed, scope, {
        renderLimit: Math.max(1, limits.renderLimitMs),
        ...(limits.sample && { strictVariables: false }),
      }),
    );
  } catch (error) {
    throw new TemplateError(firstLine(error));
  }
}

/** The templates of one email. */
export interface EmailTemplates {
  subject: string;
  html?: string;
  text?: string;
}

export type EmailTemplateField = keyof EmailTemplates;

export type RenderedEmail = EmailTemplates;

/** One email's templates rendered, or the first that failed and why (plain data: it crosses threads). */
export type EmailRenderResult =
  { ok: true; rendered: RenderedEmail } | { ok: false; field: EmailTemplateField; reason: string };

/** Renders the subject (as text) and the bodies of one email within one time limit for all three. */
export function renderEmailTemplates(
  templates: EmailTemplates,
  scope: TemplateScope,
  limits: RenderLimits = DEFAULT_LIMITS,
): EmailRenderResult {
  const deadline = performance.now() + limits.renderLimitMs;
  const rendered: RenderedEmail = { subject: '' };
  const fields: [EmailTemplateField, TemplateKind][] = [
    ['subject', 'text'],
    ['html', 'html'],
    ['text', 'text'],
  ];
  for (const [field, kind] of fields) {
    const source = templates[field];
    if (source === undefined) continue;
    try {
      rendered[field] = renderTemplate(source, kind, scope, { ...limits, renderLimitMs: deadline - performance.now() });
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      return { ok: false, field, reason: error.message };
    }
  }
  return { ok: true, rendered };
}

/** Header values (the subject) are rendered as text and may never carry a line break. */
export function headerSafe(value: string): string {
  return value.replace(/[\r\n\u2028\u2029]+/g, ' ').trim();
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
