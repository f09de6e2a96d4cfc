import { createHmac } from 'node:crypto';

import { verifyWebhook } from '../../src/destinations/webhook-signature';
import type { WorkspaceCredentials } from '../support/app';
import { waitFor } from '../support/wait-for';
import { HttpReceiver } from './support/http-receiver';
import type { Seed } from './support/seed';
import { Testbed } from './support/testbed';

const SECRET = 'whsec_test_0123456789abcdef';

describe('webhook destinations (HTTP on loopback)', () => {
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

  async function receiver(respond?: ConstructorParameters<typeof Object>[0]) {
    const r = await HttpReceiver.start(respond as never);
    receivers.push(r);
    return r;
  }

  it('posts a signed Segment-style track call for entries and exits', async () => {
    const hook = await receiver();
    const audienceId = await seed.audience(ws.workspaceId, 'trial_users', 'Trial users');
    const destinationId = await api.createWebhook({ url: hook.url, secret: SECRET, headers: { 'X-Team': 'growth' } });
    await api.connect(audienceId, destinationId, false, 'both');
    const p = await seed.profile(ws.workspaceId, { plan: 'trial' }, { user_id: 'u-42', anonymous_id: 'anon-1' });
    const [trait] = await seed.query<{ id: string }>(
      `INSERT INTO computed_traits (id, workspace_id, key, name, definition_ast, definition_text)
       VALUES (gen_random_uuid(), $1, 'logins_7d', 'Logins', '{}', '') RETURNING id`,
      [ws.workspaceId],
    );
    await seed.query(
      `INSERT INTO computed_trait_values (trait_id, workspace_id, profile_id, value, updated_at) VALUES ($1, $2, $3, '4', now())`,
      [trait!.id, ws.workspaceId, p],
    );
    // An adoption score is read like a computed trait, with its band beside it.
    const [score] = await seed.query<{ id: string }>(
      `INSERT INTO scores (id, workspace_id, key, name, components, bands, updated_at)
       VALUES (gen_random_uuid(), $1, 'adoption_score', 'Adoption', '[]', '[]', now()) RETURNING id`,
      [ws.workspaceId],
    );
    await seed.query(
      `INSERT INTO score_values (score_id, workspace_id, subject_id, value, band, computed_at) VALUES ($1, $2, $3, 72, 'green', now())`,
      [score!.id, ws.workspaceId, p],
    );
    const at = new Date(Date.now() + 10);
    const [entered] = await seed.enter(ws.workspaceId, audienceId, p, at);
    await seed.exit(ws.workspaceId, audienceId, p, new Date(at.getTime() + 1_000));

    await waitFor(() => hook.requests.length === 2, { what: 'two webhook calls' });
    const bodies = hook.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    const enteredCall = bodies.find((b) => b.event === 'Audience Entered')!;
    expect(enteredCall).toMatchObject({
      type: 'track',
      userId: 'u-42',
      anonymousId: 'anon-1',
      messageId: entered!.id,
      timestamp: at.toISOString(),
      properties: { audience_key: 'trial_users', trial_users: true },
      context: {
        traits: { plan: 'trial' },
        computed: { logins_7d: 4, adoption_score: 72, adoption_score_band: 'green' },
        personas: { computation_class: 'audience', computation_key: 'trial_users', space_id: ws.workspaceId },
      },
    });
    expect(bodies.find((b) => b.event === 'Audience Exited')).toMatchObject({
      properties: { audience_key: 'trial_users', trial_users: false },
    });
    for (const request of hook.requests) {
      const signature = request.headers['x-personae-signature'] as string;
      expect(signature).toBe(`sha256=${createHmac('sha256', SECRET).update(request.body).digest('hex')}`);
      expect(verifyWebhook(SECRET, request.body, signature)).toBe(true);
      expect(verifyWebhook('another-secret-0000', request.body, signature)).toBe(false);
      expect(request.headers['x-team']).toBe('growth');
      expect(request.headers['content-type']).toBe('application/json');
    }
    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 2);
  });

  it('retries 503 and 429 (honouring Retry-After), gives up on 4xx', async () => {
    const hook = await receiver((_: unknown, index: number) =>
      index === 0 ? { status: 503 } : index === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    const refusing = await receiver(() => ({ status: 422 }));
    const audienceId = await seed.audience(ws.workspaceId, 'retries');
    const flaky = await api.createWebhook({ url: hook.url, secret: SECRET });
    const strict = await api.createWebhook({ url: refusing.url, secret: SECRET });
    await api.connect(audienceId, flaky);
    await api.connect(audienceId, strict);
    const p = await seed.profile(ws.workspaceId, {}, { user_id: 'u-retry' });
    await seed.enter(ws.workspaceId, audienceId, p);

    await waitFor(async () => (await seed.statusCounts(flaky)).sent === 1, { what: 'sent after two retries' });
    expect(hook.requests).toHaveLength(3);
    const [second, third] = [hook.requests[1]!, hook.requests[2]!];
    expect(third.at - second.at).toBeGreaterThanOrEqual(900);
    expect(new Set(hook.requests.map((r) => (JSON.parse(r.body) as { messageId: string }).messageId)).size).toBe(1);
    expect(hook.requests.map((r) => r.headers['x-personae-attempt'])).toEqual(['1', '2', '3']);

    await waitFor(async () => (await seed.statusCounts(strict)).dead === 1, { what: '422 is final' });
    expect(refusing.requests).toHaveLength(1);
    const [row] = await seed.deliveries(strict);
    expect(row!.last_error).toBe('http 422: ok');
  });

  it('keeps serving a healthy destination while another one hangs', async () => {
    const slow = await receiver(() => ({ status: 200 }));
    const hangingUrl = `http://127.0.0.1:${slow.port}/hook`;
    const stuck = await HttpReceiver.start(() => ({ status: 200 }));
    receivers.push(stuck);
    // A server that accepts connections and never answers.
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const silentPort = (silent.address() as import('node:net').AddressInfo).port;
    try {
      const audienceId = await seed.audience(ws.workspaceId, 'isolation');
      const hanging = await api.createWebhook({ url: `http://127.0.0.1:${silentPort}/`, secret: SECRET });
      const healthy = await api.createWebhook({ url: hangingUrl, secret: SECRET });
      await api.connect(audienceId, hanging);
      await api.connect(audienceId, healthy);
      for (let i = 0; i < 30; i++) {
        const p = await seed.profile(ws.workspaceId, {}, { user_id: `iso-${i}` });
        await seed.enter(ws.workspaceId, audienceId, p);
      }
      await waitFor(() => slow.requests.length === 30, { what: 'healthy destination served', timeoutMs: 8_000 });
      expect((await seed.statusCounts(hanging)).sent ?? 0).toBe(0);
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });
});
