import { maxLength, minLength } from 'class-validator';

import { FieldProblem } from '../common/validation';
import { MAX_IDENTIFIER_LENGTH } from '../identity/identifiers';
import { isTimestamp } from './timestamps';
import { MAX_MESSAGE_ID_LENGTH, MAX_NAME_LENGTH, MessageType } from './tracking.dto';
import { isSubjectIdGiven } from './tracking-fields';

/**
 * The checks the message DTOs declare (tracking.dto.ts), as plain functions: class-validator costs
 * tens of microseconds a message (an instance, metadata lookups, error objects), which at 100
 * messages a request was most of the API's CPU. Same fields, same order, same reasons as
 * `validateSync(dto, { stopAtFirstError: true })`; message-validation.spec.ts holds the two equal.
 */

type Message = Record<string, unknown>;
/** The reason a value fails (without the field name), or undefined when it passes. */
type Check = (value: unknown, message: Message) => string | undefined;

interface FieldRule {
  property: string;
  check: Check;
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function isString(value: unknown): value is string {
  return typeof value === 'string' || value instanceof String;
}

/**
 * class-validator counts a surrogate pair or a character with its variation selector as one; a
 * string without such code units has its plain length, so the slow count runs only for those.
 */
const COUNTED_SPECIALLY = /[\uD800-\uDFFF]|\uFE0E|\uFE0F/;

function textProblem(value: string, required: boolean, max: number): string | undefined {
  const plain = !COUNTED_SPECIALLY.test(value);
  if (required && !(plain ? value.length >= 1 : minLength(value, 1))) return 'must not be empty';
  if (!(plain ? value.length <= max : maxLength(value, max))) return `must be at most ${max} characters`;
  return undefined;
}

/** `userId` / `anonymousId`: at least one of the pair; `null` and `""` count as absent. */
function subjectId(other: 'userId' | 'anonymousId'): Check {
  return (value, message) => {
    if (!isSubjectIdGiven(value)) {
      return isSubjectIdGiven(message[other]) ? undefined : `is required unless ${other} is given`;
    }
    if (!isString(value)) return 'must be a string';
    return textProblem(String(value), true, MAX_IDENTIFIER_LENGTH);
  };
}

function requiredText(max: number): Check {
  return (value) => {
    if (!isPresent(value)) return 'is required';
    if (!isString(value)) return 'must be a string';
    return textProblem(String(value), true, max);
  };
}

function optionalText(max: number): Check {
  return (value) => {
    if (!isPresent(value)) return undefined;
    if (!isString(value)) return 'must be a string';
    return textProblem(String(value), false, max);
  };
}

const timestamp: Check = (value) =>
  !isPresent(value) || isTimestamp(value) ? undefined : 'must be an ISO-8601 date-time';

const jsonObject: Check = (value) =>
  !isPresent(value) || (typeof value === 'object' && !Array.isArray(value)) || typeof value === 'function'
    ? undefined
    : 'must be an object';

const rule = (property: string, check: Check): FieldRule => ({ property, check });

/** MessageDto's fields. */
const COMMON: FieldRule[] = [
  rule('userId', subjectId('anonymousId')),
  rule('anonymousId', subjectId('userId')),
  rule('messageId', optionalText(MAX_MESSAGE_ID_LENGTH)),
  rule('timestamp', timestamp),
  rule('originalTimestamp', timestamp),
  rule('sentAt', timestamp),
  rule('context', jsonObject),
  rule('integrations', jsonObject),
];

const PAGE: FieldRule[] = [
  rule('name', optionalText(MAX_NAME_LENGTH)),
  rule('category', optionalText(MAX_NAME_LENGTH)),
  rule('properties', jsonObject),
];

/**
 * class-validator reports a class's own fields before inherited ones, except for a subclass that
 * declares none (ScreenMessageDto), whose fields then come in the order their classes were declared.
 */
export const MESSAGE_RULES: Record<MessageType, readonly FieldRule[]> = {
  track: [rule('event', requiredText(MAX_NAME_LENGTH)), rule('properties', jsonObject), ...COMMON],
  identify: [rule('traits', jsonObject), ...COMMON],
  page: [...PAGE, ...COMMON],
  screen: [...COMMON, ...PAGE],
  group: [rule('groupId', requiredText(MAX_NAME_LENGTH)), rule('traits', jsonObject), ...COMMON],
  alias: [rule('previousId', requiredText(255)), ...COMMON],
};

/** The problems of one message of a known type; `field` prefixes each (`batch[3]`), or '' for a body. */
export function messageProblems(type: MessageType, message: Message, field: string): FieldProblem[] {
  let problems: FieldProblem[] | undefined;
  for (const { property, check } of MESSAGE_RULES[type]) {
    const reason = check(message[property], message);
    if (reason !== undefined) (problems ??= []).push({ field: field ? `${field}.${property}` : property, reason });
  }
  return problems ?? [];
}
