import { destinationsApi } from '../destinations/support/api';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import type { ReportBody } from './journey-support';

const EMAIL = { from: 'Acme <hello@acme.test>', subject: 'Hi', text: 'Hi' };

/** The journeys API: shapes, validation with paths, versions, states, 404s; no workers needed. */
describe('journeys API', () => {
  let app: TestApp;
  let ws: WorkspaceCredentials;
  let destination: string;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' });
    ws = await createWorkspace(app, 'Journeys API');
    destination = await destinationsApi(app, ws.apiToken).createEmail(EMAIL);
    await app
      .http()
      .post('/api/audiences')
      .set('authorization', `Bearer ${ws.apiToken}`)
      .send({ key: 'signed-up', name: 'Signed up', definition: 'performed "Signed Up"' })
      .expect(201);
  });
  afterAll(() => app.close());

  const auth = () => `Bearer ${ws.apiToken}`;
  const post = (path: string, body?: object) => app.http().post(path).set('authorization', auth()).send(body);
  const get = (path: string) => app.http().get(path).set('authorization', auth());
  const patch = (path: string, body: object) => app.http().patch(path).set('authorization', auth()).send(body);

  const body = (key: string, steps?: object[]) => ({
    key,
    name: `Journey ${key}`,
    entry: { audience: 'signed-up' },
    reentry: 'after_exit',
    exit: { when: 'performed "Destination Enabled"', onAudienceExit: true },
    steps: steps ?? [
      { id: 'wait', type: 'wait', duration: { amount: 3, unit: 'days' }, next: 'nudge' },
      { id: 'nudge', type: 'send', destination, subject: 'Need a hand?' },
    ],
    quietHours: { start: '21:00', end: '08:00' },
  });

  it('creates a draft, reads it back, lists it, and refuses a taken key', async () => {
    const created = await post('/api/journeys', body('crud')).expect(201);
    expect(created.body).toMatchObject({
      key: 'crud',
      status: 'draft',
      version: 1,
      reentry: 'after_exit',
      exit: { when: 'performed "Destination Enabled"', onAudienceExit: true },
      entry: { audience: 'signed-up', includeCurrentMembers: false },
      quietHours: { start: '21:00', end: '08:00', timezone: null },
    });
    expect((await get(`/api/journeys/${created.body.id}`).expect(200)).body.steps).toHaveLength(2);
    const list = await get('/api/journeys?limit=100').expect(200);
    expect(Object.keys(list.body).sort()).toEqual(['items', 'nextCursor']);
    expect((list.body as { items: { key: string }[] }).items.map((j) => j.key)).toContain('crud');
    const taken = await post('/api/journeys', body('crud')).expect(409);
    expect(taken.body.message).toBe('key: journey "crud" already exists');
  });

  it('names the path of every problem of a definition', async () => {
    const unknown = await post(
      '/api/journeys',
      body('bad-graph', [
        { id: 'a', type: 'send', destination, next: 'b' },
        { id: 'b', type: 'send', destination, next: 'c' },
        { id: 'c', type: 'send', destination, next: 'd' },
        { id: 'd', type: 'send', destination, next: 'nudge-2' },
      ]),
    ).expect(400);
    expect(unknown.body.message).toBe('steps[3].next: unknown step "nudge-2"');

    const condition = await post('/api/journeys', {
      ...body('bad-condition'),
      exit: { when: 'performed "Destination Enabled" within' },
    }).expect(400);
    expect(condition.body.errors[0].field).toBe('exit.when');
    expect(condition.body.errors[0].reason).toMatch(/^line 1, col \d+/);

    const missing = await post('/api/journeys', {
      ...body('missing'),
      entry: { audience: 'nope' },
      steps: [{ id: 'a', type: 'send', destination: '00000000-0000-4000-8000-000000000000' }],
    }).expect(400);
    expect(missing.body.errors).toEqual([
      { field: 'entry.audience', reason: 'no audience "nope" in this workspace' },
      {
        field: 'steps[0].destination',
        reason: 'no destination "00000000-0000-4000-8000-000000000000" in this workspace',
      },
    ]);

    const template = await post(
      '/api/journeys',
      body('bad-template', [{ id: 'a', type: 'send', destination, subject: 'Hi {{ traits.name ' }]),
    ).expect(400);
    expect(template.body.errors[0].field).toBe('steps[0].subject');

    for (const bad of [
      { ...body('x1'), steps: 'all of them' },
      { ...body('x2'), entry: null },
      { ...body('x3'), reentry: 5 },
      { ...body('x4'), quietHours: [] },
      { ...body('x5'), steps: [null, 3, []] },
      { ...body('x6'), surprise: true },
      { key: 'x7', name: 'x' },
    ]) {
      const response = await post('/api/journeys', bad);
      expect(response.status).toBe(400);
      expect(response.body.message).toMatch(/\w+/);
    }
  });

  it('edits a draft in place and a journey that ran as a new version', async () => {
    const { id } = (await post('/api/journeys', body('versions')).expect(201)).body as { id: string };
    const renamed = await patch(`/api/journeys/${id}`, { name: 'Renamed', reentry: 'never' }).expect(200);
    expect(renamed.body).toMatchObject({ name: 'Renamed', reentry: 'never', version: 1 });

    expect((await post(`/api/journeys/${id}/activate`).expect(200)).body.status).toBe('active');
    const edited = await patch(`/api/journeys/${id}`, {
      steps: [{ id: 'nudge', type: 'send', destination, subject: 'Straight away' }],
    }).expect(200);
    expect(edited.body).toMatchObject({ version: 2, status: 'active', reentry: 'never' });
    expect(edited.body.steps).toEqual([
      { id: 'nudge', type: 'send', destination, subject: 'Straight away', next: null },
    ]);
    const invalid = await patch(`/api/journeys/${id}`, { steps: [] }).expect(400);
    expect(invalid.body.message).toBe('steps: must be a non-empty list of steps');
    expect((await get(`/api/journeys/${id}`).expect(200)).body.version).toBe(2);

    expect((await post(`/api/journeys/${id}/pause`).expect(200)).body.status).toBe('paused');
    expect((await post(`/api/journeys/${id}/activate`).expect(200)).body.status).toBe('active');
  });

  it('answers 404 for unknown or foreign journeys, 400 for malformed ids, 409 for pausing a draft', async () => {
    const { id } = (await post('/api/journeys', body('states')).expect(201)).body as { id: string };
    expect((await post(`/api/journeys/${id}/pause`).expect(409)).body.message).toMatch(/^status: /);
    const other = await createWorkspace(app, 'Other');
    await app.http().get(`/api/journeys/${id}`).set('authorization', `Bearer ${other.apiToken}`).expect(404);
    await get('/api/journeys/00000000-0000-4000-8000-000000000000').expect(404);
    await get('/api/journeys/not-a-uuid').expect(400);
    await get(`/api/journeys/${id}/runs?profileId=nope`).expect(400);
    await get(`/api/journeys/${id}/runs?cursor=garbage`).expect(400);
    const runs = await get(`/api/journeys/${id}/runs`).expect(200);
    expect(runs.body).toEqual({ items: [], nextCursor: null });
    const report = await get(`/api/journeys/${id}/report`).expect(200);
    expect((report.body as ReportBody).steps.map((s) => [s.stepId, s.entered])).toEqual([
      ['wait', 0],
      ['nudge', 0],
    ]);
    await app.http().delete(`/api/journeys/${id}`).set('authorization', auth()).expect(204);
    await get(`/api/journeys/${id}`).expect(404);
    await app.http().delete(`/api/journeys/${id}`).set('authorization', auth()).expect(404);
  });
  it('refuses to delete the entry audience or a send destination of a journey, until the journey is gone', async () => {
    const del = (path: string) => app.http().delete(path).set('authorization', auth());
    const usedDestination = await destinationsApi(app, ws.apiToken).createEmail(EMAIL);
    const audience = await post('/api/audiences', {
      key: 'trial-started',
      name: 'Trial started',
      definition: 'performed "Trial Started"',
    }).expect(201);
    const journey = await post('/api/journeys', {
      ...body('references', [{ id: 'hello', type: 'send', destination: usedDestination, subject: 'Hello' }]),
      entry: { audience: 'trial-started' },
    }).expect(201);

    const destinationRefused = await del(`/api/destinations/${usedDestination}`).expect(409);
    expect(destinationRefused.body.message).toMatch(/used by journey "references"/);
    const audienceRefused = await del(`/api/audiences/${audience.body.id}`).expect(409);
    expect(audienceRefused.body.message).toMatch(/entry of journey "references"/);
    // Nothing was deleted.
    await get(`/api/destinations/${usedDestination}`).expect(200);
    await get(`/api/audiences/${audience.body.id}`).expect(200);

    await del(`/api/journeys/${journey.body.id}`).expect(204);
    await del(`/api/destinations/${usedDestination}`).expect(204);
    await del(`/api/audiences/${audience.body.id}`).expect(204);
  });
});
