import 'reflect-metadata';

import { createPersonae } from './app.factory';
import { ConfigError, loadConfig } from './config/app-config';
import { loadEnvFile } from './config/env-file';
import { DemoService } from './demo/demo.service';
import { demoBanner } from './demo/demo-banner';

async function main(): Promise<void> {
  // A local .env is a convenience for development (ENV_FILE=none skips it); deployments set the environment.
  loadEnvFile();
  const config = loadConfig();
  const personae = await createPersonae(config);
  const { http } = personae;
  if (http) await http.listen(config.PORT, config.HOST);

  // Graceful shutdown: stop taking requests and jobs, let in-flight ones finish (app.close drains
  // Fastify and closes BullMQ workers), then exit. A stuck job or client must not keep us alive forever.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      setTimeout(() => process.exit(1), config.SHUTDOWN_TIMEOUT_MS).unref();
      personae.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }

  const where = http ? `listening on ${config.publicUrl}` : 'processing jobs';
  process.stdout.write(`Personae (${config.ROLE}) ${where}\n`);
  // The API serves while the demo is seeded; the banner comes last, holding everything needed to log in.
  if (config.PERSONAE_DEMO && http) {
    process.stdout.write(demoBanner(config, await http.get(DemoService).start()));
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(
      `Personae failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
});
