import { plainToInstance, Type } from 'class-transformer';
import {
  IsBoolean,
  isEmail,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
  validateSync,
} from 'class-validator';
import addressparser from 'nodemailer/lib/addressparser';

import { FieldProblem, fieldProblems } from '../common/validation';
import type { AddressPolicy } from './address-policy';
import { endpointProblems } from './endpoint-rules';
import { SMTP_URL_OPTIONS } from './smtp-target';
import {
  publicSegmentConfig,
  publicSlackConfig,
  SegmentConfig,
  SegmentConfigDto,
  segmentProblems,
  SlackConfig,
  SlackConfigDto,
  slackProblems,
} from './sync-config';
import { compileTemplate, TemplateError, TemplateKind } from './templates';

export const DESTINATION_TYPES = ['email', 'webhook', 'segment', 'slack'] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];

/** Any destination's stored config. */
export type DestinationConfig = EmailConfig | WebhookConfig | SegmentConfig | SlackConfig;

export interface SmtpAuth {
  user: string;
  pass: string;
}

/** What an email destination stores in `destinations.config` (secrets included; never returned as is). */
export interface EmailConfig {
  smtpUrl?: string;
  host?: string;
  port?: number;
  secure?: boolean;
  /** STARTTLS is required: the connection never continues in plaintext. */
  requireTLS?: boolean;
  auth?: SmtpAuth;
  from: string;
  replyTo?: string;
  subject: string;
  html?: string;
  text?: string;
  /** Size of the destination's SMTP connection pool (default 5). */
  maxConnections?: number;
}

export interface WebhookConfig {
  url: string;
  secret: string;
  headers?: Record<string, string>;
}

export const DEFAULT_MAX_CONNECTIONS = 5;
const TEMPLATE_MAX = 100_000;

class SmtpAuthDto {
  @IsString({ message: '$property must be a string' })
  @MinLength(1, { message: '$property must not be empty' })
  @MaxLength(500, { message: '$property must be at most 500 characters' })
  user!: string;

  @IsString({ message: '$property must be a string' })
  @MinLength(1, { message: '$property must not be empty' })
  @MaxLength(500, { message: '$property must be at most 500 characters' })
  pass!: string;
}

class EmailConfigDto {
  @IsOptional()
  @IsString({ message: '$property must be a string' })
  @Matches(/^smtps?:\/\/[^\s/]+(\/[^\s]*)?$/, { message: '$property must be an smtp:// or smtps:// URL' })
  smtpUrl?: string;

  @IsOptional()
  @IsString({ message: '$property must be a string' })
  @Matches(/^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$/, { message: '$property must be a host name or address' })
  host?: string;

  @IsOptional()
  @IsInt({ message: '$property must be an integer' })
  @Min(1, { message: '$property must be between 1 and 65535' })
  @Max(65535, { message: '$property must be between 1 and 65535' })
  port?: number;

  @IsOptional()
  @IsBoolean({ message: '$property must be a boolean' })
  secure?: boolean;

  @IsOptional()
  @IsBoolean({ message: '$property must be a boolean' })
  requireTLS?: boolean;

  @IsOptional()
  @ValidateNested()
  @Type(() => SmtpAuthDto)
  auth?: SmtpAuthDto;

  @IsString({ message: '$property must be a string' })
  @MaxLength(300, { message: '$property must be at most 300 characters' })
  from!: string;

  @IsOptional()
  @IsString({ message: '$property must be a string' })
  @MaxLength(300, { message: '$property must be at most 300 characters' })
  replyTo?: string;

  @IsString({ message: '$property must be a string' })
  @MinLength(1, { message: '$property must not be empty' })
  @MaxLength(1000, { message: '$property must be at most 1000 characters' })
  subject!: string;

  @IsOptional()
  @IsString({ message: '$property must be a string' })
  @MaxLength(TEMPLATE_MAX, { message: `$property must be at most ${TEMPLATE_MAX} characters` })
  html?: string;

  @IsOptional()
  @IsString({ message: '$property must be a string' })
  @MaxLength(TEMPLATE_MAX, { message: `$property must be at most ${TEMPLATE_MAX} characters` })
  text?: string;

  @IsOptional()
  @IsInt({ message: '$property must be an integer' })
  @Min(1, { message: '$property must be between 1 and 50' })
  @Max(50, { message: '$property must be between 1 and 50' })
  maxConnections?: number;
}

class WebhookConfigDto {
  @IsString({ message: '$property must be a string' })
  @MaxLength(2000, { message: '$property must be at most 2000 characters' })
  @Matches(/^https?:\/\/\S+$/, { message: '$property must be an http:// or https:// URL' })
  url!: string;

  @IsString({ message: '$property must be a string' })
  @MinLength(16, { message: '$property must be at least 16 characters' })
  @MaxLength(500, { message: '$property must be at most 500 characters' })
  secret!: string;

  @IsOptional()
  @IsObject({ message: '$property must be an object of header names to values' })
  headers?: Record<string, string>;
}

const MAILBOX_HINT = 'must be one email address, e.g. "Acme <hello@acme.com>"';

function isControlOrLineBreak(char: string): boolean {
  const code = char.charCodeAt(0);
  return code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029;
}

/** One mailbox (`a@b.com` or `Name <a@b.com>`), or a reason it is not one. */
function mailboxProblem(value: string): string | undefined {
  // A line break would end the header and start another (Bcc:, a second From:…).
  if ([...value].some(isControlOrLineBreak)) return 'must not contain line breaks or control characters';
  const parsed = addressparser(value, { flatten: true });
  const address = parsed.length === 1 ? parsed[0]?.address : undefined;
  return address && isPlainEmail(address) ? undefined : MAILBOX_HINT;
}

/** An addr-spec fit for an SMTP envelope: nothing that could smuggle a header or a second recipient. */
export function isPlainEmail(value: string): boolean {
  return (
    value.length <= 254 && !/[\s<>,;"]/.test(value) && isEmail(value, { require_tld: false, allow_ip_domain: true })
  );
}

function urlProblem(value: string): string | undefined {
  try {
    new URL(value);
    return undefined;
  } catch {
    return 'is not a valid URL';
  }
}

function smtpUrlProblem(value: string): string | undefined {
  const problem = urlProblem(value);
  if (problem) return problem;
  const unknown = [...new URL(value).searchParams.keys()].filter((key) => !SMTP_URL_OPTIONS.includes(key));
  return unknown.length > 0
    ? `may only carry the option ${SMTP_URL_OPTIONS.join(', ')} (not ${unknown.join(', ')}); use the config fields instead`
    : undefined;
}

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/;
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'host', 'x-personae-signature']);

function templateProblems(config: Partial<EmailConfig>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const check = (field: 'subject' | 'html' | 'text', kind: TemplateKind) => {
    const source = config[field];
    if (source === undefined) return;
    try {
      compileTemplate(source, kind);
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      problems.push({ field: `config.${field}`, reason: `is not a valid template: ${error.message}` });
    }
  };
  check('subject', 'text');
  check('html', 'html');
  check('text', 'text');
  return problems;
}

function emailProblems(config: EmailConfig): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const field of ['from', 'replyTo'] as const) {
    const value = config[field];
    const problem = value === undefined ? undefined : mailboxProblem(value);
    if (problem) problems.push({ field: `config.${field}`, reason: problem });
  }
  if (config.smtpUrl) {
    const problem = smtpUrlProblem(config.smtpUrl);
    if (problem) problems.push({ field: 'config.smtpUrl', reason: problem });
    if (config.host) problems.push({ field: 'config.host', reason: 'must not be given together with smtpUrl' });
  }
  if (config.html === undefined && config.text === undefined) {
    problems.push({ field: 'config.html', reason: 'or config.text is required' });
  }
  return [...problems, ...templateProblems(config)];
}

function webhookProblems(config: WebhookConfig): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const problem = urlProblem(config.url);
  if (problem) problems.push({ field: 'config.url', reason: problem });
  for (const [name, value] of Object.entries(config.headers ?? {})) {
    if (!HEADER_NAME.test(name) || RESERVED_HEADERS.has(name.toLowerCase())) {
      problems.push({ field: `config.headers.${name}`, reason: 'is not a header name that may be set' });
    } else if (typeof value !== 'string' || /[\r\n]/.test(value) || value.length > 2000) {
      problems.push({ field: `config.headers.${name}`, reason: 'must be a string without line breaks' });
    }
  }
  return problems;
}

/** Validates a destination's config for its type; returns the cleaned config or the problems found. */
export function validateConfig(
  type: DestinationType,
  raw: unknown,
  policy: AddressPolicy,
): { config: DestinationConfig; problems: [] } | { problems: FieldProblem[] } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { problems: [{ field: 'config', reason: 'must be an object' }] };
  }
  const instance = configInstance(type, raw);
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true });
  const problems = fieldProblems(errors, 'config');
  if (problems.length > 0) return { problems };
  const config = JSON.parse(JSON.stringify(instance)) as DestinationConfig;
  const more = typeProblems(type, config);
  if (more.length > 0) return { problems: more };
  const endpoint = endpointProblems(type, config, policy);
  return endpoint.length > 0 ? { problems: endpoint } : { config, problems: [] };
}

function configInstance(type: DestinationType, raw: object): object {
  switch (type) {
    case 'email':
      return plainToInstance(EmailConfigDto, raw);
    case 'webhook':
      return plainToInstance(WebhookConfigDto, raw);
    case 'segment':
      return plainToInstance(SegmentConfigDto, raw);
    case 'slack':
      return plainToInstance(SlackConfigDto, raw);
  }
}

function typeProblems(type: DestinationType, config: DestinationConfig): FieldProblem[] {
  switch (type) {
    case 'email':
      return emailProblems(config as EmailConfig);
    case 'webhook':
      return webhookProblems(config as WebhookConfig);
    case 'segment':
      return segmentProblems(config as SegmentConfig);
    case 'slack':
      return slackProblems(config as SlackConfig);
  }
}

/** Applies a PATCH: given keys replace, `null` removes, absent keys (secrets among them) stay. */
export function mergeConfig(stored: object, patch: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...(stored as Record<string, unknown>) };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

const MASK = '****';

/** The config as the API shows it: passwords, secrets and header values are never returned. */
export function publicConfig(type: DestinationType, stored: unknown): Record<string, unknown> {
  const config = { ...(stored as Record<string, unknown>) };
  if (type === 'segment') return publicSegmentConfig(config);
  if (type === 'slack') return publicSlackConfig(config);
  if (type === 'webhook') {
    const { secret, headers, ...rest } = config;
    const names = Object.keys((headers as Record<string, string> | undefined) ?? {});
    if (typeof rest.url === 'string') rest.url = maskUrlPassword(rest.url);
    return {
      ...rest,
      hasSecret: typeof secret === 'string' && secret.length > 0,
      ...(names.length > 0 && { headers: Object.fromEntries(names.map((name) => [name, MASK])) }),
    };
  }
  const { auth, smtpUrl, ...rest } = config;
  const view: Record<string, unknown> = { ...rest };
  if (typeof smtpUrl === 'string') view.smtpUrl = maskUrlPassword(smtpUrl);
  if (auth && typeof auth === 'object') view.auth = { user: (auth as SmtpAuth).user, hasPassword: true };
  view.usesServerDefault = smtpUrl === undefined && rest.host === undefined;
  return view;
}

/** A URL with its password (smtp://user:pass@…, https://user:pass@…) replaced by ****. */
export function maskUrlPassword(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = MASK;
    return url.toString();
  } catch {
    return MASK;
  }
}
