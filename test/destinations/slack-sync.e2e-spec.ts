import type { WorkspaceCredentials } from '../support/app';
import { waitFor } from '../support/wait-for';
import { HttpReceiver } from './support/http-receiver';
import type { Seed } from './support/seed';
import { Testbed } from './support/testbed';

describe('slack destinations (an incoming webhook on loopback)', () => {
  let bed: Testbed;
  let seed: Seed;
  let ws: WorkspaceCredentials;
  let api: Testbed['api'];
  const receivers: HttpReceiver[] = [];

  beforeAll(async () => {
    bed = await Testbed.start();
    ({ seed, ws, api } = bed);
  });

  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await bed.close();
  });

  async function slack(
    respond?: Parameters<typeof HttpReceiver.start>[0],
  ): Promise<{ hook: HttpReceiver; id: string }> {
    const hook = await HttpReceiver.start(respond);
    receivers.push(hook);
    const created = await api
      .post('/api/destinations')
      .send({ type: 'slack', name: 'CS channel', config: { url: `${hook.url}/T000/B000/XXXXSECRET` } })
      .expect(201);
    // The URL is the credential: only its host is shown.
    expect(created.body.config).toEqual({ host: `127.0.0.1:${hook.port}`, hasUrl: true });
    expect(JSON.stringify(created.body)).not.toContain('XXXXSECRET');
    return { hook, id: (created.body as { id: string }).id };
  }

  it('posts one line per transition, grouping those that move at once into one message', async () => {
    const { hook, id } = await slack();
    const audienceId = await seed.audience(ws.workspaceId, 'accounts_red', 'Accounts turning red');
    await api.connect(audienceId, id, false, 'both');
    const refs = [];
    const people = [];
    for (let i = 0; i < 12; i++) {
      const p = await seed.profile(ws.workspaceId, { email: `cs${i}@example.test` }, { user_id: `cs-${i}` });
      people.push(p);
      refs.push(...(await seed.transition(ws.workspaceId, audienceId, p, 'entered', new Date())).deliveries);
    }
    await seed.enqueue(refs);
    await waitFor(async () => (await seed.statusCounts(id)).sent === 12, { what: '12 lines sent' });
    const lines = () => hook.requests.flatMap((r) => (JSON.parse(r.body) as { text: string }).text.split('\n'));
    expect(hook.requests.length).toBeLessThan(4);
    expect(lines()).toHaveLength(12);
    for (let i = 0; i < 12; i++) {
      expect(lines()).toContain(`:inbox_tray: *cs${i}@example.test* entered *Accounts turning red* (\`accounts_red\`)`);
    }
    expect(hook.requests[0]!.headers['content-type']).toBe('application/json');

    await seed.exit(ws.workspaceId, audienceId, people[0]!);
    await waitFor(async () => (await seed.statusCounts(id)).sent === 13, { what: 'the exit sent' });
    expect(lines()).toContain(':outbox_tray: *cs0@example.test* left *Accounts turning red* (`accounts_red`)');
  });

  it('retries a 429 after Retry-After and records a 404 (channel gone) as dead', async () => {
    const { hook: limited, id: patient } = await slack((_, index) =>
      index === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    const { hook: gone, id: dead } = await slack(() => ({ status: 404 }));
    const audienceId = await seed.audience(ws.workspaceId, 'slack_retry');
    await api.connect(audienceId, patient);
    await api.connect(audienceId, dead);
    const p = await seed.profile(ws.workspaceId, { email: 'retry@example.test' });
    await seed.enter(ws.workspaceId, audienceId, p);
    await waitFor(async () => (await seed.statusCounts(patient)).sent === 1, { what: 'sent after the 429' });
    expect(limited.requests).toHaveLength(2);
    expect(limited.requests[1]!.at - limited.requests[0]!.at).toBeGreaterThanOrEqual(900);
    expect(limited.requests[1]!.body).toBe(limited.requests[0]!.body);
    await waitFor(async () => (await seed.statusCounts(dead)).dead === 1, { what: '404 is final' });
    expect(gone.requests).toHaveLength(1);
    const [row] = await seed.deliveries(dead);
    expect(row!.last_error).toBe('http 404: ok');
  });
});
