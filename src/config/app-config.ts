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
