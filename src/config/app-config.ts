import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync } from 'class-validator';

export const ROLES = ['api', 'worker', 'all'] as const;
export type Role = (typeof ROLES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

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
