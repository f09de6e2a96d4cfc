import {
  assertUnreachable,
  AudienceAst,
  AudienceCondition,
  CountClause,
  Duration,
  isDateLiteral,
  Literal,
  PropertyFilter,
  SequenceStep,
  TimeWindow,
  ValueTest,
} from './audience-ast';

/**
 * Prints an AST in the text form. parseAudience(printAudience(ast)) deep-equals ast for every
 * valid AST, so the printer parenthesises exactly where the structure would otherwise change:
 * an `and` or `or` nested directly in another `and`/`or`, and any `and`/`or` under `not`.
 */
export function printAudience(ast: AudienceAst): string {
  return condition(ast, 'top');
}

type Context = 'top' | 'or' | 'and' | 'not';

function condition(node: AudienceCondition, context: Context): string {
  switch (node.type) {
    case 'and':
    case 'or': {
      const text = node.conditions.map((c) => condition(c, node.type)).join(` ${node.type} `);
      const bare = context === 'top' || (context === 'or' && node.type === 'and');
      return bare ? text : `(${text})`;
    }
    case 'not':
      return `not ${condition(node.condition, 'not')}`;
    case 'performed':
      return join(
        'performed',
        quote(node.event),
        node.count && count(node.count),
        node.window && printWindow(node.window),
        node.where && printWhere(node.where),
      );
    case 'not_performed':
      return join(
        'never performed',
        quote(node.event),
        node.window && printWindow(node.window),
        node.where && printWhere(node.where),
      );
    case 'first_performed':
    case 'last_performed':
      return join(
        node.type === 'first_performed' ? 'first performed' : 'last performed',
        quote(node.event),
        printWindow(node.window),
        node.where && printWhere(node.where),
      );
    case 'first_seen':
      return `first seen ${printWindow(node.window)}`;
    case 'last_seen':
      return `last seen ${printWindow(node.window)}`;
    case 'active':
      return `active ${printWindow(node.window)}`;
    case 'inactive':
      return `inactive ${printDuration(node.duration)}`;
    case 'trait':
      return `trait ${filter(node)}`;
    case 'computed':
      return `computed ${name(node.trait)} ${test(node)}`;
    case 'sequence':
      return join(
        node.steps.map((s, i) => (i === 0 ? step(s) : `then ${step(s)}`)).join(' '),
        node.notFollowedBy && `then not ${step(node.notFollowedBy)}`,
        node.conversionWindow && `within ${printDuration(node.conversionWindow)}`,
      );
    case 'in_audience':
      return `in audience ${quote(node.audience)}`;
    case 'members':
      return `${QUANTIFIER_TEXT[node.quantifier]} ${condition(node.condition, 'not')}`;
    case 'member_count':
      return `members ${countBound(node)}`;
    case 'created':
      return `created ${printWindow(node.window)}`;
    default:
      return assertUnreachable(node);
  }
}

const QUANTIFIER_TEXT = { any: 'any member', no: 'no member', all: 'all members' } as const;

function countBound(c: CountClause): string {
  return count(c).replace(/ times?$/, '');
}

function join(...parts: (string | undefined)[]): string {
  return parts.filter((p) => p !== undefined).join(' ');
}

function step(s: SequenceStep): string {
  return join('performed', quote(s.event), s.where && printWhere(s.where));
}

function count(c: CountClause): string {
  const times = c.value === 1 ? 'time' : 'times';
  switch (c.op) {
    case 'at_least':
      return `at least ${c.value} ${times}`;
    case 'at_most':
      return `at most ${c.value} ${times}`;
    case 'exactly':
      return `exactly ${c.value} ${times}`;
    default:
      return assertUnreachable(c.op);
  }
}

export function printDuration(d: Duration): string {
  return `${d.amount} ${d.amount === 1 ? d.unit.slice(0, -1) : d.unit}`;
}

export function printWindow(w: TimeWindow): string {
  switch (w.kind) {
    case 'within':
      return `within ${printDuration(w.duration)}`;
    case 'before':
      return `before ${printDuration(w.duration)} ago`;
    case 'between':
      return `between ${w.from} and ${w.to}`;
    default:
      return assertUnreachable(w);
  }
}

export function printWhere(filters: PropertyFilter[]): string {
  const text = filters.map(filter).join(' and ');
  return filters.length === 1 ? `where ${text}` : `where (${text})`;
}

const BARE_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A name as written after `trait`, `where`, `.` or `computed`: bare when it is an identifier. */
export function name(segment: string): string {
  return BARE_NAME.test(segment) ? segment : quote(segment);
}

export function printPath(path: readonly string[]): string {
  return path.map(name).join('.');
}

function filter(f: PropertyFilter): string {
  return `${printPath(f.path)} ${test(f)}`;
}

const OPERATORS = { eq: '=', neq: '!=', lt: '<', lte: '<=', gt: '>', gte: '>=' } as const;

function test(t: ValueTest): string {
  switch (t.op) {
    case 'eq':
    case 'neq':
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      return `${OPERATORS[t.op]} ${literal(t.value)}`;
    case 'contains':
      return `contains ${quote(t.value)}`;
    case 'starts_with':
      return `starts with ${quote(t.value)}`;
    case 'exists':
      return 'exists';
    case 'in':
      return `in [${t.values.map(literal).join(', ')}]`;
    case 'within':
      return `within ${printDuration(t.duration)}`;
    case 'before':
      return `before ${printDuration(t.duration)} ago`;
    default:
      return assertUnreachable(t);
  }
}

function literal(value: Literal): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (isDateLiteral(value)) return value.date;
  return assertUnreachable(value);
}

export function quote(text: string): string {
  return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
