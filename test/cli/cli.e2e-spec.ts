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
});
