import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from 'pg';
import request from 'supertest';

import { createPersonae, Personae } from '../../src/app.factory';
import { loadConfig } from '../../src/config/app-config';
import { testEnvironment } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/database';
import { runTs } from '../support/processes';

describe('npm run cli -- workspace create', () => {
  let database: TestDatabase;
  let personae: Personae;

  beforeAll(async () => {
    database = await createTestDatabase();
    personae = await createPersonae(loadConfig(testEnvironment(database, { ROLE: 'api' })));
  });
  afterAll(async () => {
    await personae.close();
    await database.drop();
  });

  const cli = (args: string[], env: Record<string, string> = { DATABASE_URL: database.url }) =>
    runTs('src/cli.ts', args, env).finished;

  it('creates a workspace whose token and write key work against the API', async () => {
    const result = await cli(['workspace', 'create', '--name', 'From CLI', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const created = JSON.parse(result.stdout) as {
      workspace: { id: string; name: string };
      source: { writeKey: string };
      apiToken: string;
    };
    expect(created.workspace.name).toBe('From CLI');
    const server = personae.http!.getHttpServer();
    const me = await request(server).get('/api/workspace').set('authorization', `Bearer ${created.apiToken}`);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ id: created.workspace.id, name: 'From CLI' });
    const sources = await request(server).get('/api/sources').set('authorization', `Bearer ${created.apiToken}`);
    expect(sources.body).toEqual({
      items: [expect.objectContaining({ writeKey: created.source.writeKey })],
      nextCursor: null,
    });
  });

  it('prints the credentials for people by default', async () => {
    const result = await cli(['workspace', 'create', '--name', 'Readable']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Workspace {2}Readable \([0-9a-f-]{36}\)$/m);
    expect(result.stdout).toMatch(/^Write key {2}wk_\S+$/m);
    expect(result.stdout).toMatch(/^API token {2}prs_\S+ {3}\(shown once/m);
  });

  it.each([
    [['workspace', 'create'], /needs --name/],
    [['workspace', 'create', '--name', '  '], /needs --name/],
    [['workspace', 'delete', '--name', 'x'], /unknown command "workspace delete"/],
    [[], /no command/],
  ])('refuses %j with usage and exit code 2', async (args, message) => {
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('Usage: npm run cli');
  });

  it('names DATABASE_URL when it is missing', async () => {
    const result = await cli(['workspace', 'create', '--name', 'x'], {});
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/DATABASE_URL is required/);
  });

  describe('env files', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'personae-cli-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const workspaceNamed = async (name: string): Promise<number> => {
      const client = new Client({ connectionString: database.url });
      await client.connect();
      try {
        return (await client.query('SELECT 1 FROM workspaces WHERE name = $1', [name])).rowCount ?? 0;
      } finally {
        await client.end();
      }
    };

    it('reads .env from the working directory when ENV_FILE is not set, as `npm run cli` does', async () => {
      writeFileSync(join(dir, '.env'), `DATABASE_URL=${database.url}\n`);
      const result = await runTs(
        'src/cli.ts',
        ['workspace', 'create', '--name', 'From .env'],
        { ENV_FILE: '' },
        {
          cwd: dir,
        },
      ).finished;
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(await workspaceNamed('From .env')).toBe(1);
    });

    it('reads no .env with ENV_FILE=none, as every test-started process runs', async () => {
      writeFileSync(join(dir, '.env'), `DATABASE_URL=${database.url}\n`);
      const result = await runTs('src/cli.ts', ['workspace', 'create', '--name', 'Not from .env'], {}, { cwd: dir })
        .finished;
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/DATABASE_URL is required/);
      expect(await workspaceNamed('Not from .env')).toBe(0);
    });

    it('reads the file ENV_FILE names, and refuses one that does not exist', async () => {
      writeFileSync(join(dir, 'staging.env'), `DATABASE_URL=${database.url}\n`);
      const named = await cli(['workspace', 'create', '--name', 'From ENV_FILE'], {
        ENV_FILE: join(dir, 'staging.env'),
      });
      expect(named.code).toBe(0);
      expect(await workspaceNamed('From ENV_FILE')).toBe(1);
      const missing = await cli(['workspace', 'create', '--name', 'x'], { ENV_FILE: join(dir, 'missing.env') });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/ENV_FILE names .*missing\.env, which does not exist/);
    });
  });
});
