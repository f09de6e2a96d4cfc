import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { waitFor } from '../support/wait-for';
import { HttpReceiver } from './support/http-receiver';
import { Testbed } from './support/testbed';

const SECRET = 'whsec_test_0123456789abcdef';
const EMAIL = { from: 'Acme <hello@acme.test>', subject: 'Hi', html: '<p>Hi</p>' };

describe('destination secrets, TLS and responses', () => {
  let bed: Testbed;
  let api: Testbed['api'];
  const receivers: HttpReceiver[] = [];

  beforeAll(async () => {
    bed = await Testbed.start();
    ({ api } = bed);
  });

  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await bed.close();
  });

  async function errorFields(body: unknown): Promise<string[]> {
    return ((body as { errors?: { field: string }[] }).errors ?? []).map((e) => e.field);
  }

  it('asks for the webhook secret and header values again when the URL moves to another server', async () => {
    const id = await api.createWebhook({
      url: 'https://hooks.example.test/in',
      secret: SECRET,
      headers: { Authorization: 'Bearer receiver-token' },
    });
    const moved = await api
      .patch(`/api/destinations/${id}`)
      .send({ config: { url: 'https://attacker.example.test/in' } })
      .expect(400);
    expect(await errorFields(moved.body)).toEqual(['config.secret', 'config.headers']);
    expect(moved.body.message).toContain('config.secret');
    // Another path on the same server keeps them.
    await api
      .patch(`/api/destinations/${id}`)
      .send({ config: { url: 'https://hooks.example.test/v2/in' } })
      .expect(200);
    const resupplied = await api
      .patch(`/api/destinations/${id}`)
      .send({
        config: { url: 'https://other.example.test/in', secret: SECRET, headers: { Authorization: 'Bearer other' } },
      })
      .expect(200);
    expect(resupplied.body.config).toMatchObject({ url: 'https://other.example.test/in', hasSecret: true });
  });

  it('asks for the SMTP credentials again when the host, port or URL changes', async () => {
    const id = await api.createEmail({
      ...EMAIL,
      host: 'smtp.example.test',
      port: 465,
      secure: true,
      auth: { user: 'u', pass: 'stored-password' },
    });
    for (const change of [{ host: 'smtp.attacker.test' }, { port: 2465 }]) {
      const response = await api.patch(`/api/destinations/${id}`).send({ config: change }).expect(400);
      expect(await errorFields(response.body)).toEqual(['config.auth']);
    }
    await api
      .patch(`/api/destinations/${id}`)
      .send({ config: { subject: 'Changed' } })
      .expect(200);
    await api
      .patch(`/api/destinations/${id}`)
      .send({ config: { host: 'smtp2.example.test', auth: { user: 'u', pass: 'new-password' } } })
      .expect(200);
  });

  it('sends SMTP credentials only over TLS, except to loopback the operator allows', async () => {
    const plain = await api
      .post('/api/destinations')
      .send({
        type: 'email',
        name: 'x',
        config: { ...EMAIL, host: 'smtp.example.test', port: 587, auth: { user: 'u', pass: 'p' } },
      })
      .expect(400);
    expect(await errorFields(plain.body)).toEqual(['config.auth']);
    const inUrl = await api
      .post('/api/destinations')
      .send({ type: 'email', name: 'x', config: { ...EMAIL, smtpUrl: 'smtp://u:p@smtp.example.test:587' } })
      .expect(400);
    expect(await errorFields(inUrl.body)).toEqual(['config.smtpUrl']);
    await api.createEmail({ ...EMAIL, smtpUrl: 'smtps://u:p@smtp.example.test' });
    await api.createEmail({ ...EMAIL, smtpUrl: 'smtp://u:p@smtp.example.test:587?requireTLS=true' });
    await api.createEmail({ ...EMAIL, host: 'smtp.example.test', requireTLS: true, auth: { user: 'u', pass: 'p' } });
    await api.createEmail({ ...EMAIL, smtpUrl: 'smtp://u:p@127.0.0.1:1025' });
  });

  it('masks credentials inside a webhook URL and sends them as HTTP Basic', async () => {
    const hook = await HttpReceiver.start();
    receivers.push(hook);
    const created = await api
      .post('/api/destinations')
      .send({
        type: 'webhook',
        name: 'With credentials',
        config: { url: `http://hookuser:hunter2-secret@127.0.0.1:${hook.port}/hook`, secret: SECRET },
      })
      .expect(201);
    expect(created.body.config.url).toBe(`http://hookuser:****@127.0.0.1:${hook.port}/hook`);
    expect(JSON.stringify((await api.get('/api/destinations').expect(200)).body)).not.toContain('hunter2');

    const { seed, ws } = bed;
    const audienceId = await seed.audience(ws.workspaceId, 'basic-auth');
    await api.connect(audienceId, created.body.id as string);
    await seed.enter(ws.workspaceId, audienceId, await seed.profile(ws.workspaceId, {}, { user_id: 'basic' }));
    await waitFor(() => hook.requests.length === 1, { what: 'the webhook call' });
    expect(hook.requests[0]!.headers.authorization).toBe(
      `Basic ${Buffer.from('hookuser:hunter2-secret').toString('base64')}`,
    );
  });

  it.each([
    ['from', 'Acme <hello@acme.test>\r\nBcc: everyone@example.test'],
    ['from', 'Acme\n <hello@acme.test>'],
    ['replyTo', 'support@acme.test\r\nX-Injected: 1'],
    ['replyTo', 'Support\r <support@acme.test>'],
  ])('refuses a line break in %s', async (field, value) => {
    const response = await api
      .post('/api/destinations')
      .send({ type: 'email', name: 'x', config: { ...EMAIL, [field]: value } })
      .expect(400);
    expect(response.body.errors).toEqual([
      { field: `config.${field}`, reason: 'must not contain line breaks or control characters' },
    ]);
  });

  it('reads only the start of a webhook response and drops the rest', async () => {
    let written = 0;
    let closed = false;
    // A receiver that answers 500 with a body that never ends.
    const server: Server = createServer((request, response) => {
      request.resume();
      response.writeHead(500, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'e');
      const pump = () => {
        while (!closed && response.write(chunk)) written += chunk.length;
      };
      response.on('drain', pump);
      response.on('close', () => {
        closed = true;
      });
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const { seed, ws } = bed;
      const port = (server.address() as AddressInfo).port;
      const id = await api.createWebhook({ url: `http://127.0.0.1:${port}/hook`, secret: SECRET });
      const audienceId = await seed.audience(ws.workspaceId, 'endless');
      await api.connect(audienceId, id);
      await seed.enter(ws.workspaceId, audienceId, await seed.profile(ws.workspaceId, {}, { user_id: 'endless' }));
      const row = await waitFor(
        async () => {
          const [delivery] = await seed.deliveries(id);
          return delivery?.last_error ? delivery : undefined;
        },
        { what: 'the first attempt recorded' },
      );
      expect(row.status).toBe('failed');
      expect(row.last_error).toMatch(/^http 500: e{300}$/);
      await waitFor(() => closed, { what: 'Personae to drop the connection' });
      // What the kernel buffers on loopback, not the endless body.
      expect(written).toBeLessThan(32 * 1024 * 1024);
    } finally {
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
