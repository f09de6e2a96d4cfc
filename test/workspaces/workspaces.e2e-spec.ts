import { createWorkspace, startTestApp, TEST_ADMIN_TOKEN, TestApp, WorkspaceCredentials } from '../support/app';

describe('workspaces and credentials', () => {
  let app: TestApp;
  let a: WorkspaceCredentials;
  let b: WorkspaceCredentials;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' });
    a = await createWorkspace(app, 'Workspace A');
    b = await createWorkspace(app, 'Workspace B');
  });
  afterAll(() => app.close());

  it('creates a workspace with a source and an API token, in the contract shape', async () => {
    const response = await app
      .http()
      .post('/api/workspaces')
      .set('authorization', `Bearer ${TEST_ADMIN_TOKEN}`)
      .send({ name: 'Acme' })
      .expect(201);
    expect(response.body).toEqual({
      workspace: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'Acme' },
      source: {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'Default',
        writeKey: expect.stringMatching(/^wk_/),
        validation: 'lenient',
      },
      apiToken: expect.stringMatching(/^prs_[\w-]{43}$/),
    });
  });

  it('stores the API token only as a hash', async () => {
    const { PrismaClient } = await import('../../src/generated/prisma/client');
    const { PrismaPg } = await import('@prisma/adapter-pg');
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: app.database.url }) });
    try {
      const tokens = await prisma.apiToken.findMany({ where: { workspaceId: a.workspaceId } });
      expect(tokens).toHaveLength(1);
      expect(tokens[0]?.tokenHash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(tokens)).not.toContain(a.apiToken);
    } finally {
      await prisma.$disconnect();
    }
  });

  it.each([
    ['no header', undefined],
    ['a wrong admin token', 'Bearer not-the-admin-token-at-all'],
    ['a workspace API token', 'workspace-token'],
    ['a malformed header', 'Basic abc'],
  ])('refuses to create a workspace with %s', async (_, header) => {
    const call = app.http().post('/api/workspaces').send({ name: 'Nope' });
    if (header === 'workspace-token') call.set('authorization', `Bearer ${a.apiToken}`);
    else if (header) call.set('authorization', header);
    const response = await call.expect(401);
    expect(response.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', message: expect.any(String) });
  });

  it('rejects an invalid body naming the field', async () => {
    const response = await app
      .http()
      .post('/api/workspaces')
      .set('authorization', `Bearer ${TEST_ADMIN_TOKEN}`)
      .send({ name: '', extra: 1 })
      .expect(400);
    expect(response.body.statusCode).toBe(400);
    expect(response.body.errors).toEqual(
      expect.arrayContaining([
        { field: 'name', reason: 'must not be empty' },
        { field: 'extra', reason: 'property extra should not exist' },
      ]),
    );
    expect(response.body.message).toContain('name: must not be empty');
  });

  it('scopes management requests to the token workspace', async () => {
    const mine = await app.http().get('/api/workspace').set('authorization', `Bearer ${a.apiToken}`).expect(200);
    expect(mine.body).toEqual({ id: a.workspaceId, name: 'Workspace A' });
    const sources = await app.http().get('/api/sources').set('authorization', `Bearer ${b.apiToken}`).expect(200);
    expect(sources.body).toEqual({
      items: [{ id: b.sourceId, name: 'Default', writeKey: b.writeKey, validation: 'lenient' }],
      nextCursor: null,
    });
    expect(JSON.stringify(sources.body)).not.toContain(a.writeKey);
  });

  it('creates sources only in the token workspace', async () => {
    const created = await app
      .http()
      .post('/api/sources')
      .set('authorization', `Bearer ${a.apiToken}`)
      .send({ name: 'iOS app' })
      .expect(201);
    const ofB = await app.http().get('/api/sources').set('authorization', `Bearer ${b.apiToken}`).expect(200);
    expect((ofB.body as { items: { id: string }[] }).items.map((s) => s.id)).not.toContain(created.body.id);
    const ofA = await app.http().get('/api/sources').set('authorization', `Bearer ${a.apiToken}`).expect(200);
    expect((ofA.body as { items: { id: string }[] }).items.map((s) => s.id)).toContain(created.body.id);
  });

  it('refuses null for a field that may only be left out, naming it', async () => {
    const api = (method: 'post' | 'patch', path: string) =>
      app.http()[method](path).set('authorization', `Bearer ${a.apiToken}`);
    const created = await api('post', '/api/sources').send({ name: 'S', validation: null }).expect(400);
    expect(created.body.errors).toEqual([{ field: 'validation', reason: expect.stringMatching(/^must be one of/) }]);
    const renamed = await api('patch', `/api/sources/${a.sourceId}`).send({ name: null }).expect(400);
    expect(renamed.body.errors[0]).toEqual({ field: 'name', reason: 'must be a string' });
  });

  it.each([
    ['no token', undefined],
    ['an unknown token', 'Bearer prs_unknown'],
    ['the admin token', `Bearer ${TEST_ADMIN_TOKEN}`],
    ['a write key', 'write-key'],
  ])('answers 401 and no data with %s', async (_, header) => {
    const call = app.http().get('/api/sources');
    if (header === 'write-key') call.set('authorization', `Bearer ${a.writeKey}`);
    else if (header) call.set('authorization', header);
    const response = await call.expect(401);
    expect(JSON.stringify(response.body)).not.toContain('wk_');
  });
});
