import { IsString, Matches, MaxLength, MinLength } from 'class-validator';

import type { FieldProblem } from '../common/validation';

/**
 * Configs of the destinations that sync audiences into other tools: `segment` (any receiver of
 * Segment's Tracking API: Segment, Customer.io CDP, RudderStack, Jitsu, another Personae) and
 * `slack` (an incoming webhook). Their secrets (the write key; the Slack URL, which is its own
 * credential) are stored in the config and never returned.
 */

export interface SegmentConfig {
  /** The receiver's base URL (`https://api.segment.io`); messages go to `<url>/v1/batch`. */
  url: string;
  writeKey: string;
}

export interface SlackConfig {
  url: string;
}

export class SegmentConfigDto {
  @IsString({ message: '$property must be a string' })
  @MaxLength(2000, { message: '$property must be at most 2000 characters' })
  @Matches(/^https?:\/\/\S+$/, { message: '$property must be an http:// or https:// URL' })
  url!: string;

  @IsString({ message: '$property must be a string' })
  @MinLength(1, { message: '$property must not be empty' })
  @MaxLength(500, { message: '$property must be at most 500 characters' })
  @Matches(/^[^\s:]+$/, { message: '$property must not contain spaces or colons' })
  writeKey!: string;
}

export class SlackConfigDto {
  @IsString({ message: '$property must be a string' })
  @MaxLength(2000, { message: '$property must be at most 2000 characters' })
  @Matches(/^https?:\/\/\S+$/, { message: '$property must be an http:// or https:// URL' })
  url!: string;
}

/** `<url>/v1/batch`, whether or not the configured URL ends in a slash or already in /v1/batch. */
export function segmentBatchUrl(config: SegmentConfig): URL {
  const base = new URL(config.url);
  const path = base.pathname.replace(/\/+$/, '');
  base.pathname = path.endsWith('/v1/batch') ? path : `${path}/v1/batch`;
  return base;
}

export function segmentProblems(config: SegmentConfig): FieldProblem[] {
  try {
    const url = new URL(config.url);
    if (url.username || url.password) {
      return [{ field: 'config.url', reason: 'must not carry credentials; the write key goes in config.writeKey' }];
    }
    if (url.search || url.hash) return [{ field: 'config.url', reason: 'must not have a query or a fragment' }];
    return [];
  } catch {
    return [{ field: 'config.url', reason: 'is not a valid URL' }];
  }
}

export function slackProblems(config: SlackConfig): FieldProblem[] {
  try {
    new URL(config.url);
    return [];
  } catch {
    return [{ field: 'config.url', reason: 'is not a valid URL' }];
  }
}

/** What the API shows: the receiver's URL and whether a write key is stored, never the key. */
export function publicSegmentConfig(stored: Record<string, unknown>): Record<string, unknown> {
  const { writeKey, ...rest } = stored;
  return { ...rest, hasWriteKey: typeof writeKey === 'string' && writeKey.length > 0 };
}

/** A Slack incoming-webhook URL is the credential itself: only its host is shown. */
export function publicSlackConfig(stored: Record<string, unknown>): Record<string, unknown> {
  let host: string | null;
  try {
    host = new URL(String(stored.url)).host;
  } catch {
    host = null;
  }
  return { host, hasUrl: typeof stored.url === 'string' };
}
