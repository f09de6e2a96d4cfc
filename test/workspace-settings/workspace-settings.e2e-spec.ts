import { Logger } from '@nestjs/common';

import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { waitFor } from '../support/wait-for';
import { basicAuth, profileOf, TestSql } from '../tracking/tracking-support';

const DEFAULTS = {
  identity: {
    extraIdentifiers: [],
    blockedValues: ['null', 'undefined', 'anonymous', '0', '-1', ''],
    limits: { user_id: 1 },
    maxMergesPerProfile: 100,
  },
  tracking: { rateLimitPerSecond: 5000, bytesPerSecond: 10_000_000 },
  messaging: { frequencyCap: 0, frequencyCapWindowHours: 24, frequencyCapMode: 'wait', timezone: 'UTC' },
};

describe('workspace settings API', () => {
  let app: TestApp;
  let sql: TestSql;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' });
    sql = await TestSql.connect(app);
  });
  afterAll(async () => {
    await sql.close();
    await app.close();
  });
  afterEach(() => jest.restoreAllMocks());

  const api = (ws: WorkspaceCredentials) => ({
    get: () => app.http().get('/api/workspace/settings').set('authorization', `Bearer ${ws.apiToken}`),
    patch: (body: unknown) =>
      app
        .http()
        .patch('/api/workspace/settings')
        .set('authorization', `Bearer ${ws.apiToken}`)
        .send(body as object),
  });

  const stored = async (ws: WorkspaceCredentials): Promise<unknown> =>
    (await sql.rows<{ settings: unknown }>('SELECT settings FROM workspaces WHERE id = $1', [ws.workspaceId]))[0]
      ?.settings;

  it('answers every setting with its default, and needs an API token', async () => {
    const ws = await createWorkspace(app);
    expect((await api(ws).get().expect(200)).body).toEqual({ settings: DEFAULTS, problems: [] });
    await app.http().get('/api/workspace/settings').expect(401);
    await app.http().patch('/api/workspace/settings').send({}).expect(401);
  });

  it('documents both operations in OpenAPI from the same schema', async () => {
    const paths = (await app.http().get('/docs/json').expect(200)).body.paths;
    const operations = paths['/api/workspace/settings'];
    expect(Object.keys(operations).sort()).toEqual(['get', 'patch']);
    const body = operations.patch.requestBody.content['application/json'].schema;
    expect(body.properties.tracking.properties.rateLimitPerSecond).toMatchObject({ type: 'integer', nullable: true });
  });

  it('merges a PATCH, answers the effective settings, and reads the same back', async () => {
    const ws = await createWorkspace(app);
    const first = await api(ws)
      .patch({ identity: { limits: { user_id: 1, email: 3 }, blockedValues: [' N/A '] } })
      .expect(200);
    const expected = {
      identity: { ...DEFAULTS.identity, limits: { user_id: 1, email: 3 }, blockedValues: ['n/a'] },
      tracking: DEFAULTS.tracking,
      messaging: DEFAULTS.messaging,
    };
    expect(first.body).toEqual({ settings: expected, problems: [] });

    const second = await api(ws)
      .patch({ tracking: { rateLimitPerSecond: 20_000 } })
      .expect(200);
    const merged = { ...expected, tracking: { ...expected.tracking, rateLimitPerSecond: 20_000 } };
    expect(second.body.settings).toEqual(merged);
    expect((await api(ws).get().expect(200)).body).toEqual({ settings: merged, problems: [] });
    // Only what was set is stored: defaults can change with the installation.
    expect(await stored(ws)).toEqual({
      identity: { limits: { user_id: 1, email: 3 }, blockedValues: ['n/a'] },
      tracking: { rateLimitPerSecond: 20_000 },
    });

    const reset = await api(ws)
      .patch({ identity: { limits: null, blockedValues: null } })
      .expect(200);
    expect(reset.body.settings).toEqual({
      ...DEFAULTS,
      tracking: { ...DEFAULTS.tracking, rateLimitPerSecond: 20_000 },
    });
    expect(await stored(ws)).toEqual({ tracking: { rateLimitPerSecond: 20_000 } });
  });

  it('refuses an invalid PATCH with 400 naming each field, and changes nothing', async () => {
    const ws = await createWorkspace(app);
    await api(ws)
      .patch({ tracking: { rateLimitPerSecond: 50 } })
      .expect(200);
    const response = await api(ws)
      .patch({
        identity: { limits: { user_id: 0 }, extraIdentifiers: [{ type: 'phone' }] },
        tracking: { rateLimitPerSecond: 'fast' },
        journeys: { frequencyCap: 3 },
      })
      .expect(400);
    expect(response.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message:
        'identity.limits.user_id: must be at least 1; identity.extraIdentifiers[0].trait: must be a string; ' +
        'tracking.rateLimitPerSecond: must be a whole number; ' +
        'journeys: is not a section of the settings (known: identity, tracking, messaging)',
      errors: [
        { field: 'identity.limits.user_id', reason: 'must be at least 1' },
        { field: 'identity.extraIdentifiers[0].trait', reason: 'must be a string' },
        { field: 'tracking.rateLimitPerSecond', reason: 'must be a whole number' },
        { field: 'journeys', reason: 'is not a section of the settings (known: identity, tracking, messaging)' },
      ],
    });
    await api(ws).patch([1, 2]).expect(400);
    expect(await stored(ws)).toEqual({ tracking: { rateLimitPerSecond: 50 } });
  });

  it('reports and logs a stored value that no longer fits, using its default meanwhile', async () => {
    const ws = await createWorkspace(app);
    await sql.setWorkspaceSettings(ws.workspaceId, {
      identity: { limits: { user_id: 'one' }, maxMergesPerProfile: 7 },
      tracking: { rateLimitPerSecond: 9 },
    });
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const response = await api(ws).get().expect(200);
    expect(response.body).toEqual({
      settings: {
        identity: { ...DEFAULTS.identity, maxMergesPerProfile: 7 },
        tracking: { ...DEFAULTS.tracking, rateLimitPerSecond: 9 },
        messaging: DEFAULTS.messaging,
      },
      problems: [{ field: 'identity.limits.user_id', reason: 'must be a whole number' }],
    });
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining(
        `workspace ${ws.workspaceId}: stored settings that do not fit use their defaults: ` +
          'identity.limits.user_id: must be a whole number',
      ),
    );

    // Fixing it is one PATCH; the report goes away.
    const fixed = await api(ws)
      .patch({ identity: { limits: { user_id: 2 } } })
      .expect(200);
    expect(fixed.body.problems).toEqual([]);
  });

  it('reaches tracking within the source cache time', async () => {
    const ws = await createWorkspace(app);
    const send = (message: object) =>
      app
        .http()
        .post('/v1/batch')
        .set('authorization', basicAuth(ws.writeKey))
        .send({ batch: [message] })
        .expect(200);
    // The write key and its settings are now cached as they were: no extra identifier types.
    await send({ type: 'identify', anonymousId: 'before', traits: { phone: '+4930100' } });
    expect(await profileOf(sql, ws.workspaceId, 'phone', '+4930100')).toBeUndefined();

    await api(ws)
      .patch({ identity: { extraIdentifiers: [{ type: 'phone', trait: 'phone' }] } })
      .expect(200);
    let attempt = 0;
    await waitFor(
      async () => {
        attempt += 1;
        const phone = `+49302${attempt}`;
        await send({ type: 'identify', anonymousId: `after-${attempt}`, traits: { phone } });
        return (await profileOf(sql, ws.workspaceId, 'phone', phone)) !== undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the phone identifier to be used by tracking' },
    );
  });
});
