import { ConfigError, loadDatabaseConfig } from '../config/app-config';
import { loadEnvFile } from '../config/env-file';
import { migrate } from './migrator';

/** `npm run db:migrate`: applies pending SQL migrations to DATABASE_URL. */
async function main(): Promise<void> {
  loadEnvFile();
  const { DATABASE_URL } = loadDatabaseConfig();
  const result = await migrate(DATABASE_URL);
  for (const name of result.applied) process.stdout.write(`applied ${name}\n`);
  process.stdout.write(
    `database is up to date (${result.applied.length} applied now, ${result.alreadyApplied.length} before)\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
