import 'reflect-metadata';

import { parseArgs } from 'node:util';

import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { ConfigError, loadDatabaseConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { loadEnvFile } from './config/env-file';
import { PrismaModule } from './prisma/prisma.module';
import { WorkspacesService } from './workspaces/workspaces.service';
import { WorkspacesCoreModule } from './workspaces/workspaces-core.module';

const USAGE = `Usage: npm run cli -- <command>

Commands:
  workspace create --name <name> [--source-name <name>] [--json]
      Creates a workspace with a source (write key) and an API token, printed once.
`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      'source-name': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const command = positionals.join(' ');
  if (command !== 'workspace create') throw new UsageError(command ? `unknown command "${command}"` : 'no command');
  const name = values.name?.trim();
  if (!name) throw new UsageError('workspace create needs --name <name>');
  if (name.length > 200) throw new UsageError('--name must be at most 200 characters');

  loadEnvFile();
  const config = loadDatabaseConfig();
  @Module({ imports: [ConfigModule.forDatabase(config), PrismaModule, WorkspacesCoreModule] })
  class CliModule {}
  const app = await NestFactory.createApplicationContext(CliModule, { logger: ['error'] });
  try {
    const created = await app.get(WorkspacesService).create(name, values['source-name']);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
    } else {
      process.stdout.write(
        [
          `Workspace  ${created.workspace.name} (${created.workspace.id})`,
          `Source     ${created.source.name} (${created.source.id})`,
          `Write key  ${created.source.writeKey}`,
          `API token  ${created.apiToken}   (shown once: store it now)`,
          '',
        ].join('\n'),
      );
    }
  } finally {
    await app.close();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) process.stderr.write(`error: ${error.message}\n\n${USAGE}`);
  else if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
