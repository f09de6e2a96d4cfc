import { DeliveryWorkersService } from '../../src/destinations/delivery-workers.service';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { waitFor } from '../support/wait-for';
import { destinationsApi } from './support/api';
import { Seed } from './support/seed';

const EMAIL = { from: 'Acme <hello@acme.test>', subject: 'Hi {{ traits.name | default: "there" }}', html: '<p>Hi</p>' };

describe('destinations API', () => {
  let app: TestApp;
  let seed: Seed;
  let ws: WorkspaceCredentials;
  let other: WorkspaceCredentials;
  let api: ReturnType<typeof destinationsApi>;

  beforeAll(async () => {
    app = await startTestApp();
    seed = await Seed.connect(app.database.url, app);
    ws = await createWorkspace(app);
    other = await createWorkspace(app, 'Other');
    api = destinationsApi(app, ws.apiToken);
  });

  afterAll(async () => {
    await seed.close();
    await app.close();
  });

  it('creates, lists, shows, updates and deletes destinations without ever returning secrets', async () => {
    const created = await api
      .post('/api/destinations')
      .send({
        type: 'email',
        name: 'Welcome',
        config: { ...EMAIL, smtpUrl: 'smtp://mailer:s3cret-pass@smtp.example.test:587?requireTLS=true' },
        rateLimitPerSecond: 10,
      })
      .expect(201);
    expect(created.body).toMatchObject({ type: 'email', name: 'Welcome', rateLimitPerSecond: 10 });
    expect(created.body.config.smtpUrl).toBe('smtp://mailer:****@smtp.example.test:587?requireTLS=true');
    expect(JSON.stringify(created.body)).not.toContain('s3cret');
    const id = created.body.id as string;

    const hook = await api
      .post('/api/destinations')
      .send({
        type: 'webhook',
        name: 'Hook',
        config: {
          url: 'https://hooks.example.test/x',
          secret: 'whsec_0123456789abcdef',
          headers: { Authorization: 'Bearer abc' },
        },
      })
      .expect(201);
    expect(hook.body.config).toEqual({
      url: 'https://hooks.example.test/x',
      hasSecret: true,
      headers: { Authorization: '****' },
    });

    const withAuth = await api
      .post('/api/destinations')
      .send({
        type: 'email',
        name: 'Own host',
        config: {
          ...EMAIL,
          host: 'smtp.example.test',
          port: 465,
          secure: true,
          auth: { user: 'u', pass: 'pw-secret' },
        },
      })
      .expect(201);
    expect(withAuth.body.config.auth).toEqual({ user: 'u', hasPassword: true });
    const serverDefault = await api
      .post('/api/destinations')
      .send({ type: 'email', name: 'Default', config: EMAIL })
      .expect(201);
    expect(serverDefault.body.config.usesServerDefault).toBe(true);

    const list = await api.get('/api/destinations').expect(200);
    expect((list.body as { items: { name: string }[] }).items.map((d) => d.name)).toEqual([
      'Welcome',
      'Hook',
      'Own host',
      'Default',
    ]);
    expect(JSON.stringify(list.body)).not.toMatch(/s3cret|whsec_|pw-secret|Bearer abc/);

    const shown = await api.get(`/api/destinations/${id}`).expect(200);
    expect(shown.body.counts).toEqual({
      queued: 0,
      sending: 0,
      sent: 0,
      failed: 0,
      suppressed: 0,
      skipped: 0,
      dead: 0,
    });

    // A PATCH changes given keys and keeps the secret it was not sent.
    const patched = await api
      .patch(`/api/destinations/${id}`)
      .send({ config: { subject: 'New subject' }, rateLimitPerSecond: null })
      .expect(200);
    expect(patched.body).toMatchObject({ rateLimitPerSecond: null, config: { subject: 'New subject' } });
    const [stored] = await seed.query<{ config: { smtpUrl: string } }>(
      `SELECT config FROM destinations WHERE id = $1`,
      [id],
    );
    expect(stored!.config.smtpUrl).toContain('s3cret-pass');

    // Another workspace sees nothing.
    await app.http().get(`/api/destinations/${id}`).set('authorization', `Bearer ${other.apiToken}`).expect(404);
    await app.http().delete(`/api/destinations/${id}`).set('authorization', `Bearer ${other.apiToken}`).expect(404);

    await api.delete(`/api/destinations/${id}`).expect(204);
    await api.get(`/api/destinations/${id}`).expect(404);
  });

  it.each([
    [{ type: 'email', name: 'x', config: { ...EMAIL, html: '<p>{{ traits.name | shout }}</p>' } }, 'config.html'],
    [{ type: 'email', name: 'x', config: { ...EMAIL, html: '{% if traits.vip %}VIP' } }, 'config.html'],
    [{ type: 'email', name: 'x', config: { ...EMAIL, subject: 'Hi {{ user.name }}' } }, 'config.subject'],
    [{ type: 'email', name: 'x', config: { ...EMAIL, text: "{% include 'secrets' %}" } }, 'config.text'],
    [{ type: 'email', name: 'x', config: { ...EMAIL, from: 'not an address' } }, 'config.from'],
    [{ type: 'email', name: 'x', config: { ...EMAIL, replyTo: 'a@b.test, c@d.test' } }, 'config.replyTo'],
    [{ type: 'email', name: 'x', config: { ...EMAIL, smtpUrl: 'http://smtp.example.test' } }, 'config.smtpUrl'],
    [{ type: 'email', name: 'x', config: { from: EMAIL.from, subject: 'x' } }, 'config.html'],
    [{ type: 'email', name: 'x', config: { ...EMAIL, port: 70000 } }, 'config.port'],
    [{ type: 'email', name: 'x', config: { ...EMAIL, surprise: 1 } }, 'config.surprise'],
    [{ type: 'webhook', name: 'x', config: { url: 'ftp://x.test', secret: 'whsec_0123456789abcdef' } }, 'config.url'],
    [{ type: 'webhook', name: 'x', config: { url: 'https://x.test', secret: 'short' } }, 'config.secret'],
    [
      {
        type: 'webhook',
        name: 'x',
        config: { url: 'https://x.test', secret: 'whsec_0123456789abcdef', headers: { 'Bad Header': 'v' } },
      },
      'config.headers.Bad Header',
    ],
    [{ type: 'sms', name: 'x', config: {} }, 'type'],
    [{ type: 'email', name: 'x', config: EMAIL, rateLimitPerSecond: 0 }, 'rateLimitPerSecond'],
  ])('refuses %j naming %s', async (body, field) => {
    const response = await api.post('/api/destinations').send(body).expect(400);
    expect(response.body.message).toContain(field);
    expect((response.body as { errors: { field: string }[] }).errors.map((e) => e.field)).toContain(field);
  });

  it('starts serving a destination created through the API without a restart, and stops when it is deleted', async () => {
    const workers = app.personae.app.get(DeliveryWorkersService);
    const id = await api.createEmail(EMAIL);
    await waitFor(() => workers.served().includes(id), { what: 'a worker for the new destination' });
    await api.delete(`/api/destinations/${id}`).expect(204);
    await waitFor(() => !workers.served().includes(id), { what: 'the worker to stop' });
  });

  it('paginates deliveries newest first and filters them by status', async () => {
    const audienceId = await seed.audience(ws.workspaceId, 'pages');
    // Undeliverable on purpose: no SMTP server is configured, so deliveries stay queued or failed.
    const id = await api.createEmail({ ...EMAIL, smtpUrl: 'smtp://127.0.0.1:9' });
    await api.connect(audienceId, id);
    for (let i = 0; i < 5; i++) {
      const p = await seed.profile(ws.workspaceId, { email: `page${i}@example.test` });
      await seed.transition(ws.workspaceId, audienceId, p, 'entered', new Date());
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await api
        .get(`/api/destinations/${id}/deliveries?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .expect(200);
      seen.push(...page.body.items.map((d) => d.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(5);
    const queued = await api.get(`/api/destinations/${id}/deliveries?status=queued`).expect(200);
    expect(queued.body.items).toHaveLength(5);
    expect(queued.body.items[0]).toMatchObject({
      status: 'queued',
      kind: 'entered',
      audienceKey: 'pages',
      attempts: 0,
    });
    await api.get(`/api/destinations/${id}/deliveries?status=lost`).expect(400);
    await api.get(`/api/destinations/${id}/deliveries?cursor=nonsense`).expect(400);
  });

  it('answers 404 for connections to unknown audiences or destinations', async () => {
    const audienceId = await seed.audience(ws.workspaceId, 'missing');
    const destinationId = await api.createEmail(EMAIL);
    await api
      .post(`/api/audiences/${audienceId}/destinations`)
      .send({ destinationId: '00000000-0000-4000-8000-000000000000' })
      .expect(404);
    await api
      .post('/api/audiences/00000000-0000-4000-8000-000000000000/destinations')
      .send({ destinationId })
      .expect(404);
    await api.post(`/api/audiences/${audienceId}/destinations`).send({ destinationId, send: 'sometimes' }).expect(400);
    await api.delete(`/api/audiences/${audienceId}/destinations/${destinationId}`).expect(404);
  });
});
