import { type AddressInfo, createServer } from 'node:net';

import { waitFor } from '../support/wait-for';
import { HttpReceiver } from './support/http-receiver';
import { SmtpTestServer } from './support/smtp-test-server';
import { Testbed } from './support/testbed';

const SECRET = 'whsec_test_0123456789abcdef';
const EMAIL = { from: 'Acme <hello@acme.test>', subject: 'Hi', html: '<p>Hi</p>' };

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('destination addresses with the default policy (public addresses only)', () => {
  let bed: Testbed;
  let receiver: HttpReceiver;
  let smtp: SmtpTestServer;

  beforeAll(async () => {
    receiver = await HttpReceiver.start();
    smtp = await SmtpTestServer.start();
    // No DESTINATION_ALLOWED_NETWORKS: the default, as in production.
    bed = await Testbed.start({ DESTINATION_ALLOWED_NETWORKS: '' }, [() => receiver.close(), () => smtp.close()]);
  });

  afterAll(() => bed.close());

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]:6379/',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://127.0.0.1:5432/',
    'http://10.0.0.8/hook',
    'http://192.168.1.10/',
    'http://100.100.100.200/',
    'http://[fd00:ec2::254]/',
    'http://[::ffff:169.254.169.254]/',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://0.0.0.0:3000/',
  ])('refuses the webhook URL %s when it is saved', async (url) => {
    const response = await bed.api
      .post('/api/destinations')
      .send({ type: 'webhook', name: 'x', config: { url, secret: SECRET } })
      .expect(400);
    expect(response.body.errors).toEqual([
      { field: 'config.url', reason: expect.stringContaining('which destinations may not reach') },
    ]);
  });

  it.each([
    ['segment', { url: 'http://127.0.0.1:8080', writeKey: 'wk' }],
    ['segment', { url: 'http://169.254.169.254/', writeKey: 'wk' }],
    ['slack', { url: 'http://10.0.0.8/services/T/B/x' }],
  ])('refuses a %s destination to a private address when it is saved', async (type, config) => {
    const response = await bed.api.post('/api/destinations').send({ type, name: 'x', config }).expect(400);
    expect(response.body.errors).toEqual([
      { field: 'config.url', reason: expect.stringContaining('which destinations may not reach') },
    ]);
  });

  it('refuses, when sending, a segment destination whose name resolves to loopback', async () => {
    const { seed, ws, api } = bed;
    const audienceId = await seed.audience(ws.workspaceId, 'segment_rebinding');
    const created = await api
      .post('/api/destinations')
      .send({ type: 'segment', name: 'x', config: { url: `http://localhost:${receiver.port}`, writeKey: 'wk' } })
      .expect(201);
    const destinationId = (created.body as { id: string }).id;
    await api.connect(audienceId, destinationId);
    const profile = await seed.profile(ws.workspaceId, {}, { user_id: 'segment-probe' });
    await seed.enter(ws.workspaceId, audienceId, profile);
    const row = await waitFor(async () => {
      const [found] = await seed.deliveries(destinationId);
      return found?.status === 'dead' ? found : undefined;
    });
    expect(row).toMatchObject({
      attempts: 1,
      last_error:
        'refused: localhost resolves to an address that is a loopback address, which destinations may not reach',
    });
    expect(receiver.requests).toHaveLength(0);
  });

  it.each([
    [{ host: '10.1.2.3' }, 'config.host'],
    [{ host: '2130706433' }, 'config.host'],
    [{ host: '[::1]', port: 25 }, 'config.host'],
    [{ smtpUrl: 'smtp://169.254.169.254:25' }, 'config.smtpUrl'],
    [{ smtpUrl: 'smtp://0x7f.1:6379' }, 'config.smtpUrl'],
    [{ smtpUrl: 'smtp://smtp.example.test:25?proxy=http://10.0.0.1:3128' }, 'config.smtpUrl'],
  ])('refuses the SMTP server %j when it is saved', async (server, field) => {
    const response = await bed.api
      .post('/api/destinations')
      .send({ type: 'email', name: 'x', config: { ...EMAIL, ...server } })
      .expect(400);
    expect((response.body.errors as { field: string }[]).map((e) => e.field)).toEqual([field]);
  });

  it('refuses, when sending, a name that resolves to a refused address, saying nothing of its ports', async () => {
    const { seed, ws, api } = bed;
    const audienceId = await seed.audience(ws.workspaceId, 'rebinding');
    const open = await api.createWebhook({ url: `http://localhost:${receiver.port}/hook`, secret: SECRET });
    const closed = await api.createWebhook({ url: `http://localhost:${await closedPort()}/hook`, secret: SECRET });
    const mail = await api.createEmail({ ...EMAIL, smtpUrl: `smtp://localhost:${smtp.port}` });
    for (const id of [open, closed, mail]) await api.connect(audienceId, id);
    const profile = await seed.profile(ws.workspaceId, { email: 'probe@example.test' }, { user_id: 'probe' });
    await seed.enter(ws.workspaceId, audienceId, profile);

    const outcome = async (destinationId: string) => {
      const [row] = await seed.deliveries(destinationId);
      return row?.status === 'dead' ? row : undefined;
    };
    const [openRow, closedRow, mailRow] = [
      await waitFor(() => outcome(open), { what: 'the webhook to an open port refused' }),
      await waitFor(() => outcome(closed), { what: 'the webhook to a closed port refused' }),
      await waitFor(() => outcome(mail), { what: 'the email refused' }),
    ];
    const reason =
      'refused: localhost resolves to an address that is a loopback address, which destinations may not reach';
    // The same final answer for an open port and a closed one, after a single attempt.
    expect(openRow).toMatchObject({ attempts: 1, last_error: reason });
    expect(closedRow).toMatchObject({ attempts: 1, last_error: reason });
    expect(mailRow).toMatchObject({ attempts: 1, last_error: reason });
    expect(receiver.requests).toHaveLength(0);
    expect(smtp.accepted).toHaveLength(0);
  });
});
