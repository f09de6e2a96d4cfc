import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import { ConfigError } from './app-config';

/**
 * Which env file a process reads before its configuration is validated. It is the one variable read
 * outside AppConfig, because it decides what AppConfig gets to read.
 *
 * - `ENV_FILE` unset: `.env` in the working directory, if there is one (a convenience for `npm start`,
 *   `npm run dev`, `npm run cli` and the quick start);
 * - `ENV_FILE=none`: no file at all (tests, and deployments that set the whole environment);
 * - `ENV_FILE=<path>`: that file, which must exist.
 *
 * Values already in the environment always win over the file.
 */
export const ENV_FILE_VARIABLE = 'ENV_FILE';
export const NO_ENV_FILE = 'none';

/** The file to read for `env`, or undefined when none is to be read. */
export function envFileFor(env: Record<string, string | undefined>, cwd: string = process.cwd()): string | undefined {
  const named = env[ENV_FILE_VARIABLE]?.trim();
  if (named === NO_ENV_FILE) return undefined;
  if (named) {
    const path = resolve(cwd, named);
    if (!existsSync(path)) throw new ConfigError([`${ENV_FILE_VARIABLE} names ${path}, which does not exist`]);
    return path;
  }
  const local = resolve(cwd, '.env');
  return existsSync(local) ? local : undefined;
}

/** Loads the env file chosen by `ENV_FILE` into process.env; returns its path, if one was read. */
export function loadEnvFile(): string | undefined {
  const file = envFileFor(process.env);
  if (file) process.loadEnvFile(file);
  return file;
}
