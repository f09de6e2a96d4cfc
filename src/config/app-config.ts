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
} from 'class-validator';
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

/** The settings a process needs to reach Postgres (the CLI needs no more than this). */
export class DatabaseConfig {
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgresql:// URL' })
  DATABASE_URL!: string;
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
