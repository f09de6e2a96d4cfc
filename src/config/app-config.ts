import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateBy,
  validateSync,
  ValidationOptions,
} from 'class-validator';
import ipaddr from 'ipaddr.js';

import { INVALID_TRUST_PROXY, parseTrustProxy, TrustProxy } from './trust-proxy';

export const ROLES = ['api', 'worker', 'all'] as const;
export type Role = (typeof ROLES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

const BOOLEAN_TEXT: Readonly<Record<string, boolean>> = { '1': true, true: true, '0': false, false: false };
const toBool = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? (BOOLEAN_TEXT[value.trim().toLowerCase()] ?? value) : value;

/** A comma-separated list of CIDR ranges (possibly empty). */
function IsCidrList(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isCidrList',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' &&
          value
            .split(',')
            .map((entry) => entry.trim())
            .filter((entry) => entry.length > 0)
            .every((entry) => {
              try {
                ipaddr.parseCIDR(entry);
                return true;
              } catch {
                return false;
              }
            }),
      },
    },
    options,
  );
}

/** The settings a process needs to reach Postgres (the CLI needs no more than this). */
export class DatabaseConfig {
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgresql:// URL' })
  DATABASE_URL!: string;

  /** Connections for ingest, workers and every other query that is not interactive. */
  @Transform(toInt)
  @Min(1, { message: 'must be at least 1' })
  @IsInt({ message: 'must be an integer' })
  DATABASE_POOL_SIZE: number = 10;

  /**
   * Connections of their own for interactive queries (previews, explains, funnel reports,
   * listings), so that ingest and workers never wait behind them.
   */
  @Transform(toInt)
  @Min(1, { message: 'must be at least 1' })
  @IsInt({ message: 'must be an integer' })
  INTERACTIVE_POOL_SIZE: number = 4;

  /** How many interactive queries one workspace may run at once (per process). */
  @Transform(toInt)
  @Min(1, { message: 'must be at least 1' })
  @IsInt({ message: 'must be an integer' })
  INTERACTIVE_QUERIES_PER_WORKSPACE: number = 2;

  /** An interactive query running longer is stopped and answered 422 naming the limit. */
  @Transform(toInt)
  @Min(10, { message: 'must be at least 10' })
  @IsInt({ message: 'must be an integer' })
  INTERACTIVE_STATEMENT_TIMEOUT_MS: number = 15_000;

  /**
   * How long connecting a destination with backfill waits for a running computation of the
   * audience (whose members the backfill must see) before it answers 409 and connects nothing.
   */
  @Transform(toInt)
  @Min(10, { message: 'must be at least 10' })
  @IsInt({ message: 'must be an integer' })
  BACKFILL_WAIT_MS: number = 30_000;

  /** A statement of a full audience computation running longer is stopped; the audience is then failed. */
  @Transform(toInt)
  @Min(10, { message: 'must be at least 10' })
  @IsInt({ message: 'must be an integer' })
  COMPUTE_STATEMENT_TIMEOUT_MS: number = 600_000;
}

/** Every setting Personae reads from the environment, validated once at boot. */
export class AppConfig extends DatabaseConfig {
  @Matches(/^rediss?:\/\/\S+$/, { message: 'must be a redis:// or rediss:// URL' })
  REDIS_URL!: string;

  @MinLength(16, { message: 'must be at least 16 characters' })
  ADMIN_TOKEN!: string;

  // class-validator runs a property's decorators bottom-up; with stopAtFirstError, the type check goes last.
  @Transform(toInt)
  @Min(0, { message: 'must be between 0 and 65535' })
  @Max(65535, { message: 'must be between 0 and 65535' })
  @IsInt({ message: 'must be an integer' })
  PORT: number = 3000;

  @IsString()
  HOST: string = '0.0.0.0';

  @IsIn(ROLES, { message: `must be one of ${ROLES.join(', ')}` })
  ROLE: Role = 'all';

  /** Redis key prefix for every BullMQ queue; tests and several installations sharing a Redis use their own. */
  @Matches(/^[A-Za-z0-9_{}-]+$/, { message: 'may only contain letters, digits, _, -, { and }' })
  QUEUE_PREFIX: string = 'personae';

  @IsOptional()
  @Matches(/^smtps?:\/\/\S+$/, { message: 'must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string;

  /** Where people reach this service from outside (used in links such as unsubscribe URLs). */
  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http:// or https:// URL' })
  PUBLIC_URL?: string;

  @IsIn(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevel = 'info';

  /** How long shutdown waits for in-flight requests and jobs before giving up. */
  @Transform(toInt)
  @Min(0, { message: 'must not be negative' })
  @IsInt({ message: 'must be an integer' })
  SHUTDOWN_TIMEOUT_MS: number = 10_000;

  /** The quick start's demo: seed the Demo workspace on first start; without SMTP_URL, catch mail locally. */
  @Transform(toBool)
  @IsBoolean({ message: 'must be 1, 0, true or false' })
  PERSONAE_DEMO: boolean = false;

  /** Port of the demo's local SMTP sink on 127.0.0.1 (only with PERSONAE_DEMO and no SMTP_URL). */
  @Transform(toInt)
  @Min(1, { message: 'must be between 1 and 65535' })
  @Max(65535, { message: 'must be between 1 and 65535' })
  @IsInt({ message: 'must be an integer' })
  DEMO_MAIL_PORT: number = 1025;

  /** Events per second per source when its workspace sets none. */
  @Transform(toInt)
  @Min(1, { message: 'must be at least 1' })
  @IsInt({ message: 'must be an integer' })
  TRACKING_RATE_LIMIT_PER_SECOND: number = 5_000;

  /** Bytes of messages per second per source when its workspace sets none. */
  @Transform(toInt)
  @Min(1, { message: 'must be at least 1' })
  @IsInt({ message: 'must be an integer' })
  TRACKING_RATE_LIMIT_BYTES_PER_SECOND: number = 10_000_000;

  /**
   * Identities (type and value → profile) each API process remembers, so that a request about
   * people it has seen skips the identity read. 0 turns it off.
   */
  @Transform(toInt)
  @Min(0, { message: 'must be at least 0' })
  @IsInt({ message: 'must be an integer' })
  IDENTITY_CACHE_SIZE: number = 200_000;

  /**
   * Which proxies' X-Forwarded-For to believe (the client IP stored with events): off by default,
   * since without a proxy in front anyone could name any IP. `true`, a hop count, or a
   * comma-separated list of addresses and CIDR ranges (also loopback, linklocal, uniquelocal).
   */
  @Transform(({ value }: { value: unknown }) => parseTrustProxy(value))
  @ValidateBy({
    name: 'isTrustProxy',
    validator: {
      validate: (value: unknown) => value !== INVALID_TRUST_PROXY,
      defaultMessage: () =>
        'must be true, false, a hop count, or a comma-separated list of IP addresses and CIDR ranges',
    },
  })
  TRUST_PROXY: TrustProxy = false;

  /**
   * Address ranges destinations may reach besides public addresses (comma-separated CIDRs), e.g.
   * `127.0.0.0/8,::1/128` for a mail sink on this machine. Empty: public addresses only.
   */
  @IsCidrList({ message: 'must be a comma-separated list of CIDR ranges, e.g. 127.0.0.0/8,::1/128' })
  DESTINATION_ALLOWED_NETWORKS: string = '';

  /** A bearer token for /metrics besides the admin token, so a scraper need not hold the admin token. */
  @IsOptional()
  @MinLength(16, { message: 'must be at least 16 characters' })
  METRICS_TOKEN?: string;

  /** Shared gauges (queues, audiences, deliveries) are read at most this often, whatever the scrape rate. */
  @Transform(toInt)
  @Min(0, { message: 'must not be negative' })
  @IsInt({ message: 'must be an integer' })
  METRICS_COLLECT_INTERVAL_MS: number = 5_000;

  /** Failed authentication attempts (admin token, API token, write key) one client address may make per window. */
  @Transform(toInt)
  @Min(1, { message: 'must be at least 1' })
  @IsInt({ message: 'must be an integer' })
  AUTH_FAILURE_LIMIT: number = 30;

  /** The window of AUTH_FAILURE_LIMIT, and how long an address stays refused once it passed the limit. */
  @Transform(toInt)
  @Min(1, { message: 'must be at least 1' })
  @IsInt({ message: 'must be an integer' })
  AUTH_FAILURE_WINDOW_SECONDS: number = 900;

  /** Threads that render email templates, off the event loop that serves requests. */
  @Transform(toInt)
  @Min(1, { message: 'must be between 1 and 16' })
  @Max(16, { message: 'must be between 1 and 16' })
  @IsInt({ message: 'must be an integer' })
  TEMPLATE_RENDER_THREADS: number = 1;

  /** Longest one email's templates may take to render; a slower render fails the delivery. */
  @Transform(toInt)
  @Min(10, { message: 'must be between 10 and 10000' })
  @Max(10_000, { message: 'must be between 10 and 10000' })
  @IsInt({ message: 'must be an integer' })
  TEMPLATE_RENDER_TIMEOUT_MS: number = 250;

  /** Emails in flight per SMTP connection of a destination (claimed, rendering, or in an SMTP transaction). */
  @Transform(toInt)
  @Min(1, { message: 'must be between 1 and 100' })
  @Max(100, { message: 'must be between 1 and 100' })
  @IsInt({ message: 'must be an integer' })
  EMAIL_DELIVERIES_PER_CONNECTION: number = 10;

  /** Webhook requests in flight at once per destination. */
  @Transform(toInt)
  @Min(1, { message: 'must be between 1 and 200' })
  @Max(200, { message: 'must be between 1 and 200' })
  @IsInt({ message: 'must be an integer' })
  WEBHOOK_CONCURRENCY: number = 10;

  /** Real-time evaluation batches one worker process runs at once (each for a different workspace). */
  @Transform(toInt)
  @Min(1, { message: 'must be at least 1' })
  @Max(64, { message: 'must be at most 64' })
  @IsInt({ message: 'must be an integer' })
  EVALUATE_CONCURRENCY: number = 2;

  /** Full audience computations one worker process runs at once. */
  @Transform(toInt)
  @Min(1, { message: 'must be at least 1' })
  @Max(64, { message: 'must be at most 64' })
  @IsInt({ message: 'must be an integer' })
  COMPUTE_CONCURRENCY: number = 2;

  /** Changed profiles (outbox rows) a real-time evaluation batch takes from one workspace. */
  @Transform(toInt)
  @Min(1, { message: 'must be between 1 and 10000' })
  @Max(10_000, { message: 'must be between 1 and 10000' })
  @IsInt({ message: 'must be an integer' })
  EVALUATION_BATCH_SIZE: number = 500;

  /** How long a batch's claim on its outbox rows lasts without renewal (a dead worker's rows are retaken after it). */
  @Transform(toInt)
  @Min(1_000, { message: 'must be at least 1000' })
  @IsInt({ message: 'must be an integer' })
  EVALUATION_LEASE_MS: number = 30_000;

  /** How often a worker looks for workspaces with pending changes and no evaluation job (the safety net). */
  @Transform(toInt)
  @Min(100, { message: 'must be at least 100' })
  @IsInt({ message: 'must be an integer' })
  EVALUATION_SWEEP_INTERVAL_MS: number = 1_000;

  /** Due journey runs one timer pass takes and moves in one transaction. */
  @Transform(toInt)
  @Min(1, { message: 'must be between 1 and 10000' })
  @Max(10_000, { message: 'must be between 1 and 10000' })
  @IsInt({ message: 'must be an integer' })
  JOURNEY_BATCH_SIZE: number = 1_000;

  /** How often the journey timer sweep looks for due runs. */
  @Transform(toInt)
  @Min(100, { message: 'must be at least 100' })
  @IsInt({ message: 'must be an integer' })
  JOURNEY_SWEEP_INTERVAL_MS: number = 1_000;

  /** Timer passes one sweep runs side by side (each takes different runs: SKIP LOCKED). */
  @Transform(toInt)
  @Min(1, { message: 'must be between 1 and 16' })
  @Max(16, { message: 'must be between 1 and 16' })
  @IsInt({ message: 'must be an integer' })
  JOURNEY_SWEEP_CONCURRENCY: number = 2;

  /** Age of the oldest live change not yet evaluated above which /api/status reports `degraded`. */
  @Transform(toInt)
  @Min(1, { message: 'must be at least 1' })
  @IsInt({ message: 'must be an integer' })
  EVALUATION_LAG_DEGRADED_SECONDS: number = 60;

  get publicUrl(): string {
    return this.PUBLIC_URL ?? `http://localhost:${this.PORT}`;
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Environment = Record<string, string | undefined>;

/** Reads and validates the configuration; throws ConfigError naming every bad or missing variable. */
export function loadConfig(env: Environment = process.env): AppConfig {
  return validateInto(AppConfig, env);
}

export function loadDatabaseConfig(env: Environment = process.env): DatabaseConfig {
  return validateInto(DatabaseConfig, env);
}

function validateInto<T extends object>(cls: new () => T, env: Environment): T {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const config = plainToInstance(cls, present, { exposeDefaultValues: true, excludeExtraneousValues: false });
  const errors = validateSync(config, { forbidUnknownValues: false, stopAtFirstError: true });
  if (errors.length > 0) {
    const problems = errors.map((error) => {
      const reason = Object.values(error.constraints ?? {})[0] ?? 'is invalid';
      const given = (present as Record<string, unknown>)[error.property] !== undefined;
      return given ? `${error.property} ${reason}` : `${error.property} is required (${reason})`;
    });
    throw new ConfigError(problems.sort());
  }
  return config;
}
