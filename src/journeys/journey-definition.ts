/**
 * A journey's definition as the API takes it and the runner reads it: entry, re-entry, exit goal,
 * a graph of typed steps and optional quiet hours. `readJourneyDefinition` checks everything that
 * needs no database (shapes, conditions in the audience language, the graph) and answers either the
 * canonical definition (conditions printed back from their AST) or problems that name their path:
 * `steps[3].next: unknown step "nudge-2"`. Pure: the service checks destinations and audiences.
 */
import { readAudienceDefinition } from '../audiences/language/audience-language';
import type { FieldProblem } from '../common/problems';

/** What a journey's runs are about: a person, or an account (its entry audience's level). */
export type SubjectLevel = 'profile' | 'account';

export const DURATION_UNITS = ['minutes', 'hours', 'days', 'weeks'] as const;
export type DurationUnit = (typeof DURATION_UNITS)[number];
export interface Duration {
  amount: number;
  unit: DurationUnit;
}

const UNIT_MS: Record<DurationUnit, number> = {
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
  weeks: 7 * 86_400_000,
};

export function durationMs(duration: Duration): number {
  return duration.amount * UNIT_MS[duration.unit];
}

export interface JourneyEntry {
  audience: string;
  includeCurrentMembers: boolean;
}

export type JourneyReentry = 'never' | 'after_exit' | { after: Duration };

export interface JourneyExit {
  /** The goal, audience-language text; a run whose person meets it ends as converted. */
  when: string | null;
  onAudienceExit: boolean;
}

export interface QuietHours {
  /** "HH:MM" local time when sending stops, and when it starts again. */
  start: string;
  end: string;
  /** Used when the person has no time zone of their own; else the workspace's. */
  timezone: string | null;
}

export interface SendStep {
  id: string;
  type: 'send';
  destination: string;
  subject?: string;
  text?: string;
  html?: string;
  /** Account journeys: who of the account's members gets this email (a profile condition); else the journey's. */
  recipients?: string;
  next: string | null;
}
export interface WaitStep {
  id: string;
  type: 'wait';
  duration: Duration;
  next: string | null;
}
export interface WaitUntilStep {
  id: string;
  type: 'wait_until';
  condition: string;
  timeout: Duration;
  next: string | null;
  timeoutNext: string | null;
}
export interface BranchStep {
  id: string;
  type: 'branch';
  condition: string;
  then: string | null;
  else: string | null;
}
export interface SplitVariant {
  key: string;
  percent: number;
  next: string | null;
}
export interface SplitStep {
  id: string;
  type: 'split';
  variants: SplitVariant[];
  /** Percent of people who get nothing from here on (they still count for the goal). */
  holdout: number;
}
export interface ExitStep {
  id: string;
  type: 'exit';
}
export type JourneyStep = SendStep | WaitStep | WaitUntilStep | BranchStep | SplitStep | ExitStep;
export type StepType = JourneyStep['type'];
export const STEP_TYPES: readonly StepType[] = ['send', 'wait', 'wait_until', 'branch', 'split', 'exit'];

export interface JourneyDefinition {
  /**
   * The entry audience's level: a run per person, or per account (conditions about the account,
   * sends to its recipients). Definitions stored before account journeys have none: profile.
   */
  level?: SubjectLevel;
  entry: JourneyEntry;
  reentry: JourneyReentry;
  exit: JourneyExit;
  steps: JourneyStep[];
  quietHours: QuietHours | null;
  /** Account journeys: the members an email goes to, a profile condition; null = every member with an email. */
  recipients?: string | null;
}

export function levelOf(definition: JourneyDefinition): SubjectLevel {
  return definition.level ?? 'profile';
}

export type DefinitionResult = { ok: true; definition: JourneyDefinition } | { ok: false; problems: FieldProblem[] };

const STEP_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const CLOCK_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const MAX_STEPS = 200;
const MAX_TEMPLATE = 100_000;
const MAX_DURATION_MS = 5 * 365 * 86_400_000;

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Collects problems while reading one definition. */
class Reader {
  readonly problems: FieldProblem[] = [];

  /** The level conditions are about (the entry audience's); recipients are always about people. */
  constructor(readonly level: SubjectLevel = 'profile') {}

  problem(field: string, reason: string): void {
    this.problems.push({ field, reason });
  }

  /** Fields other than `allowed` are refused, as the DTOs refuse unknown fields. */
  only(value: Obj, path: string, allowed: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.problem(path ? `${path}.${key}` : key, 'is not a known field');
    }
  }

  text(value: unknown, path: string, max = 200): string | undefined {
    if (typeof value !== 'string') return void this.problem(path, 'must be a string');
    if (value.length === 0) return void this.problem(path, 'must not be empty');
    if (value.length > max) return void this.problem(path, `must be at most ${max} characters`);
    return value;
  }

  optionalText(value: unknown, path: string, max: number): string | undefined {
    return value === undefined ? undefined : this.text(value, path, max);
  }

  condition(value: unknown, path: string, level: SubjectLevel = this.level): string | undefined {
    const text = this.text(value, path, 10_000);
    if (text === undefined) return undefined;
    const read = readAudienceDefinition(text, path, level);
    if (!read.ok) {
      for (const error of read.errors) this.problem(error.path, error.message);
      return undefined;
    }
    return read.text;
  }

  duration(value: unknown, path: string): Duration | undefined {
    if (!isObject(value)) return void this.problem(path, 'must be {"amount": <number>, "unit": "days"}');
    this.only(value, path, ['amount', 'unit']);
    const { amount, unit } = value;
    let ok = true;
    if (typeof amount !== 'number' || !Number.isInteger(amount) || amount < 1) {
      this.problem(`${path}.amount`, 'must be a whole number of at least 1');
      ok = false;
    }
    if (typeof unit !== 'string' || !(DURATION_UNITS as readonly string[]).includes(unit)) {
      this.problem(`${path}.unit`, `must be one of ${DURATION_UNITS.join(', ')}`);
      ok = false;
    }
    if (!ok) return undefined;
    const duration = { amount: amount as number, unit: unit as DurationUnit };
    if (durationMs(duration) > MAX_DURATION_MS) return void this.problem(path, 'must be at most 5 years');
    return duration;
  }

  stepRef(value: unknown, path: string): string | null | undefined {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') return void this.problem(path, 'must be a step id');
    return value;
  }

  boolean(value: unknown, path: string, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.problem(path, 'must be a boolean');
    return value === true;
  }
}

function readEntry(r: Reader, value: unknown): JourneyEntry | undefined {
  if (!isObject(value)) return void r.problem('entry', 'must be {"audience": "<key>"}');
  r.only(value, 'entry', ['audience', 'includeCurrentMembers']);
  const audience = r.text(value.audience, 'entry.audience');
  const includeCurrentMembers = r.boolean(value.includeCurrentMembers, 'entry.includeCurrentMembers', false);
  return audience === undefined ? undefined : { audience, includeCurrentMembers };
}

function readReentry(r: Reader, value: unknown): JourneyReentry | undefined {
  if (value === undefined || value === 'never') return 'never';
  if (value === 'after_exit') return 'after_exit';
  if (isObject(value) && 'after' in value) {
    r.only(value, 'reentry', ['after']);
    const after = r.duration(value.after, 'reentry.after');
    return after ? { after } : undefined;
  }
  return void r.problem('reentry', 'must be "never", "after_exit" or {"after": {"amount": 30, "unit": "days"}}');
}

function readExit(r: Reader, value: unknown): JourneyExit | undefined {
  if (value === undefined) return { when: null, onAudienceExit: false };
  if (!isObject(value)) return void r.problem('exit', 'must be {"when": "<condition>", "onAudienceExit": true}');
  r.only(value, 'exit', ['when', 'onAudienceExit']);
  const when = value.when === undefined || value.when === null ? null : r.condition(value.when, 'exit.when');
  const onAudienceExit = r.boolean(value.onAudienceExit, 'exit.onAudienceExit', false);
  return when === undefined ? undefined : { when, onAudienceExit };
}

function readQuietHours(r: Reader, value: unknown): QuietHours | null | undefined {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) return void r.problem('quietHours', 'must be {"start": "21:00", "end": "08:00"}');
  r.only(value, 'quietHours', ['start', 'end', 'timezone']);
  const [start, end] = (['start', 'end'] as const).map((field) => {
    const time = value[field];
    if (typeof time !== 'string' || !CLOCK_TIME.test(time)) {
      r.problem(`quietHours.${field}`, 'must be a time of day as "HH:MM" (00:00 to 23:59)');
      return undefined;
    }
    return time;
  });
  let timezone: string | null = null;
  if (value.timezone !== undefined && value.timezone !== null) {
    const zone = r.text(value.timezone, 'quietHours.timezone', 100);
    if (zone !== undefined && !isTimeZone(zone)) r.problem('quietHours.timezone', 'is not an IANA time zone');
    else timezone = zone ?? null;
  }
  if (start !== undefined && start === end) r.problem('quietHours.end', 'must differ from start');
  return start === undefined || end === undefined ? undefined : { start, end, timezone };
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function readStep(r: Reader, value: unknown, path: string): JourneyStep | undefined {
  if (!isObject(value)) return void r.problem(path, 'must be an object with "id" and "type"');
  const id = r.text(value.id, `${path}.id`, 64);
  if (id !== undefined && !STEP_ID.test(id))
    r.problem(`${path}.id`, 'must be letters, digits, "-" or "_", starting with a letter or digit');
  const type = value.type;
  if (typeof type !== 'string' || !(STEP_TYPES as readonly string[]).includes(type)) {
    return void r.problem(`${path}.type`, `must be one of ${STEP_TYPES.join(', ')}`);
  }
  const before = r.problems.length;
  let step: JourneyStep | undefined;
  const base = { id: id ?? '' };
  switch (type as StepType) {
    case 'send': {
      r.only(value, path, ['id', 'type', 'destination', 'subject', 'text', 'html', 'recipients', 'next']);
      const destination = r.text(value.destination, `${path}.destination`, 36);
      const subject = r.optionalText(value.subject, `${path}.subject`, 2_000);
      const text = r.optionalText(value.text, `${path}.text`, MAX_TEMPLATE);
      const html = r.optionalText(value.html, `${path}.html`, MAX_TEMPLATE);
      const recipients = readRecipients(r, value.recipients, `${path}.recipients`);
      const next = r.stepRef(value.next, `${path}.next`);
      step = { ...base, type: 'send', destination: destination ?? '', next: next ?? null };
      if (subject !== undefined) step.subject = subject;
      if (text !== undefined) step.text = text;
      if (html !== undefined) step.html = html;
      if (recipients) step.recipients = recipients;
      break;
    }
    case 'wait': {
      r.only(value, path, ['id', 'type', 'duration', 'next']);
      const duration = r.duration(value.duration, `${path}.duration`);
      const next = r.stepRef(value.next, `${path}.next`);
      if (duration) step = { ...base, type: 'wait', duration, next: next ?? null };
      break;
    }
    case 'wait_until': {
      r.only(value, path, ['id', 'type', 'condition', 'timeout', 'next', 'timeoutNext']);
      const condition = r.condition(value.condition, `${path}.condition`);
      const timeout = r.duration(value.timeout, `${path}.timeout`);
      const next = r.stepRef(value.next, `${path}.next`);
      const timeoutNext = r.stepRef(value.timeoutNext, `${path}.timeoutNext`);
      if (condition !== undefined && timeout)
        step = {
          ...base,
          type: 'wait_until',
          condition,
          timeout,
          next: next ?? null,
          timeoutNext: timeoutNext ?? null,
        };
      break;
    }
    case 'branch': {
      r.only(value, path, ['id', 'type', 'condition', 'then', 'else']);
      const condition = r.condition(value.condition, `${path}.condition`);
      const then = r.stepRef(value.then, `${path}.then`);
      const otherwise = r.stepRef(value.else, `${path}.else`);
      if (condition !== undefined)
        step = { ...base, type: 'branch', condition, then: then ?? null, else: otherwise ?? null };
      break;
    }
    case 'split':
      r.only(value, path, ['id', 'type', 'variants', 'holdout']);
      step = readSplit(r, value, path, base.id);
      break;
    case 'exit':
      r.only(value, path, ['id', 'type']);
      step = { ...base, type: 'exit' };
      break;
  }
  return r.problems.length === before ? step : undefined;
}

/**
 * `recipients`, a profile condition choosing who of an account's members gets its emails; only an
 * account journey has recipients (a person's run sends to that person).
 */
function readRecipients(r: Reader, value: unknown, path: string): string | null | undefined {
  if (value === undefined || value === null) return null;
  if (r.level !== 'account') {
    return void r.problem(path, 'applies to journeys whose entry audience is an account audience only');
  }
  return r.condition(value, path, 'profile');
}

function readSplit(r: Reader, value: Obj, path: string, id: string): SplitStep | undefined {
  const holdout = value.holdout ?? 0;
  if (typeof holdout !== 'number' || !Number.isInteger(holdout) || holdout < 0 || holdout > 100) {
    r.problem(`${path}.holdout`, 'must be a whole percentage from 0 to 100');
  }
  if (!Array.isArray(value.variants) || value.variants.length === 0) {
    return void r.problem(`${path}.variants`, 'must be a non-empty list of {"key", "percent", "next"}');
  }
  if (value.variants.length > 20) return void r.problem(`${path}.variants`, 'must have at most 20 variants');
  const variants: SplitVariant[] = [];
  const keys = new Set<string>();
  value.variants.forEach((variant: unknown, i) => {
    const at = `${path}.variants[${i}]`;
    if (!isObject(variant)) return r.problem(at, 'must be {"key", "percent", "next"}');
    r.only(variant, at, ['key', 'percent', 'next']);
    const key = r.text(variant.key, `${at}.key`, 64);
    if (key === 'holdout') r.problem(`${at}.key`, '"holdout" is reserved for the holdout group');
    if (key !== undefined && keys.has(key)) r.problem(`${at}.key`, `repeats variant "${key}"`);
    if (key !== undefined) keys.add(key);
    const percent = variant.percent;
    if (typeof percent !== 'number' || !Number.isInteger(percent) || percent < 1 || percent > 100) {
      r.problem(`${at}.percent`, 'must be a whole percentage from 1 to 100');
    }
    const next = r.stepRef(variant.next, `${at}.next`);
    variants.push({ key: key ?? '', percent: typeof percent === 'number' ? percent : 0, next: next ?? null });
  });
  const total = variants.reduce((sum, v) => sum + v.percent, 0) + (typeof holdout === 'number' ? holdout : 0);
  if (total !== 100)
    r.problem(`${path}.variants`, `percentages and holdout must add up to 100 (they add up to ${total})`);
  return { id, type: 'split', variants, holdout: typeof holdout === 'number' ? holdout : 0 };
}

/** Where each step can go next, with the field that says so. */
export function edgesOf(step: JourneyStep): { field: string; to: string | null }[] {
  switch (step.type) {
    case 'send':
    case 'wait':
      return [{ field: 'next', to: step.next }];
    case 'wait_until':
      return [
        { field: 'next', to: step.next },
        { field: 'timeoutNext', to: step.timeoutNext },
      ];
    case 'branch':
      return [
        { field: 'then', to: step.then },
        { field: 'else', to: step.else },
      ];
    case 'split':
      return step.variants.map((variant, i) => ({ field: `variants[${i}].next`, to: variant.next }));
    case 'exit':
      return [];
  }
}

/** Unknown targets, unreachable steps and cycles that no `wait` interrupts. */
function checkGraph(r: Reader, steps: JourneyStep[]): void {
  const index = new Map<string, number>();
  steps.forEach((step, i) => {
    if (index.has(step.id)) r.problem(`steps[${i}].id`, `repeats step "${step.id}"`);
    else index.set(step.id, i);
  });
  steps.forEach((step, i) => {
    for (const edge of edgesOf(step)) {
      if (edge.to !== null && !index.has(edge.to)) r.problem(`steps[${i}].${edge.field}`, `unknown step "${edge.to}"`);
    }
  });
  if (r.problems.length > 0) return;

  const targets = (step: JourneyStep) =>
    edgesOf(step).flatMap((edge) => (edge.to === null ? [] : [index.get(edge.to) as number]));
  const reached = new Set<number>([0]);
  const stack = [0];
  while (stack.length > 0) {
    const at = stack.pop() as number;
    for (const to of targets(steps[at] as JourneyStep)) {
      if (!reached.has(to)) {
        reached.add(to);
        stack.push(to);
      }
    }
  }
  steps.forEach((step, i) => {
    if (!reached.has(i)) r.problem(`steps[${i}]`, `step "${step.id}" cannot be reached from the first step`);
  });

  // A cycle that takes no time would spin a run forever: every cycle must pass through a `wait`.
  const state = new Map<number, 'open' | 'done'>();
  const visit = (at: number, trail: number[]): boolean => {
    state.set(at, 'open');
    for (const to of targets(steps[at] as JourneyStep)) {
      if ((steps[to] as JourneyStep).type === 'wait') continue;
      if (state.get(to) === 'open') {
        const cycle = [...trail.slice(trail.indexOf(to)), at, to].map((i) => `"${(steps[i] as JourneyStep).id}"`);
        const unique = cycle.filter((id, k) => k === 0 || id !== cycle[k - 1]);
        r.problem(`steps[${at}]`, `makes a cycle without a wait: ${unique.join(' → ')}`);
        return true;
      }
      if (!state.has(to) && visit(to, [...trail, at])) return true;
    }
    state.set(at, 'done');
    return false;
  };
  for (let i = 0; i < steps.length; i++) {
    if ((steps[i] as JourneyStep).type !== 'wait' && !state.has(i) && visit(i, [])) break;
  }
}

/** Reads the parts of a journey definition the API takes (everything but key and name). */
export function readJourneyDefinition(
  input: {
    entry: unknown;
    reentry?: unknown;
    exit?: unknown;
    steps: unknown;
    quietHours?: unknown;
    recipients?: unknown;
  },
  level: SubjectLevel = 'profile',
): DefinitionResult {
  const r = new Reader(level);
  const entry = readEntry(r, input.entry);
  const reentry = readReentry(r, input.reentry);
  const exit = readExit(r, input.exit);
  const quietHours = readQuietHours(r, input.quietHours);
  const recipients = readRecipients(r, input.recipients, 'recipients');
  const steps: JourneyStep[] = [];
  if (!Array.isArray(input.steps) || input.steps.length === 0) {
    r.problem('steps', 'must be a non-empty list of steps');
  } else if (input.steps.length > MAX_STEPS) {
    r.problem('steps', `must have at most ${MAX_STEPS} steps`);
  } else {
    const before = r.problems.length;
    input.steps.forEach((value: unknown, i) => {
      const step = readStep(r, value, `steps[${i}]`);
      if (step) steps.push(step);
    });
    if (r.problems.length === before) checkGraph(r, steps);
  }
  if (r.problems.length > 0 || !entry || !reentry || !exit || quietHours === undefined || recipients === undefined) {
    return { ok: false, problems: r.problems };
  }
  const definition: JourneyDefinition = { entry, reentry, exit, steps, quietHours };
  if (level === 'account') Object.assign(definition, { level, recipients });
  return { ok: true, definition };
}

/** Every audience-language condition of a definition, with its path (for reference checks). */
export function conditionsOf(definition: JourneyDefinition): { path: string; text: string }[] {
  const found: { path: string; text: string }[] = [];
  if (definition.exit.when !== null) found.push({ path: 'exit.when', text: definition.exit.when });
  definition.steps.forEach((step, i) => {
    if (step.type === 'wait_until' || step.type === 'branch')
      found.push({ path: `steps[${i}].condition`, text: step.condition });
  });
  return found;
}
