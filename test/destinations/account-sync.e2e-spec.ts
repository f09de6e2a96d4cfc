import { gunzipSync } from 'node:zlib';

import { createWorkspace, type WorkspaceCredentials } from '../support/app';
import { waitFor } from '../support/wait-for';
import { HttpReceiver, ReceivedRequest } from './support/http-receiver';
import { listenOnLoopback } from './support/personae-receiver';
import type { Seed } from './support/seed';
import { Testbed } from './support/testbed';

interface Message {
  type: string;
  messageId: string;
  userId?: string;
  groupId?: string;
  traits?: Record<string, unknown>;
}

function batchOf(request: ReceivedRequest): Message[] {
  return (JSON.parse(gunzipSync(request.raw).toString('utf8')) as { batch: Message[] }).batch;
}

/**
 * Account audiences to segment destinations: each transition of an account is, for each of its
 * members, the member's identify and a group call with the audience key as a group trait.
 */
describe('account audiences to segment destinations', () => {
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

  async function send(messages: object[]): Promise<void> {
    await bed.app.http().post('/v1/batch').auth(ws.writeKey, '').send({ batch: messages }).expect(200);
  }

  /** ann, bob and cid (no email) in `groupId`, whose plan is `plan`. */
  async function account(groupId: string, plan: string): Promise<void> {
    await send([
      ...['ann', 'bob'].map((u) => ({
        type: 'identify',
        userId: `${groupId}-${u}`,
        traits: { email: `${u}@${groupId}.test` },
      })),
      ...['ann', 'bob', 'cid'].map((u) => ({ type: 'group', userId: `${groupId}-${u}`, groupId, traits: { plan } })),
    ]);
  }

  async function accountAudience(key: string, definition: string): Promise<string> {
    const response = await api
      .post('/api/audiences')
      .send({ key, name: key, level: 'account', definition })
      .expect(201);
    const id = (response.body as { id: string }).id;
    await waitFor(async () => (await api.get(`/api/audiences/${id}`)).body.status === 'ready', {
      what: `${key} computed`,
    });
    return id;
  }

  async function members(audienceId: string): Promise<number> {
    return ((await api.get(`/api/audiences/${audienceId}/members`).expect(200)).body.items as unknown[]).length;
  }

  async function createSegment(url: string, writeKey: string): Promise<string> {
    const response = await api
      .post('/api/destinations')
      .send({ type: 'segment', name: 'Groups', config: { url, writeKey } })
      .expect(201);
    return (response.body as { id: string }).id;
  }

  it('backfills members as identify + group calls with deterministic messageIds, and refuses recipients', async () => {
    const hook = await HttpReceiver.start();
    receivers.push(hook);
    await account('initech', 'Business');
    const audienceId = await accountAudience('business_accounts', 'trait plan = "Business"');
    await waitFor(async () => (await members(audienceId)) === 1, { what: 'initech enters' });
    const destinationId = await createSegment(`http://127.0.0.1:${hook.port}`, 'group-key');

    const refused = await api
      .post(`/api/audiences/${audienceId}/destinations`)
      .send({ destinationId, recipients: 'trait role = "owner"' })
      .expect(400);
    expect(refused.body.errors).toEqual([{ field: 'recipients', reason: expect.stringContaining('every member') }]);

    const connected = await api.connect(audienceId, destinationId, true, 'both');
    expect(connected.backfilled).toBe(3);
    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 3, { what: 'backfill sent' });
    const messages = hook.requests.flatMap(batchOf);
    expect(messages).toHaveLength(6);
    const deliveries = await seed.query<{ id: string }>(`SELECT id FROM deliveries WHERE destination_id = $1`, [
      destinationId,
    ]);
    const ids = new Set(messages.map((m) => m.messageId));
    for (const d of deliveries) {
      expect(ids).toContain(`${d.id}-identify`);
      expect(ids).toContain(`${d.id}-group`);
    }
    for (const user of ['initech-ann', 'initech-bob', 'initech-cid']) {
      const own = messages.filter((m) => m.userId === user);
      expect(own.map((m) => m.type)).toEqual(['identify', 'group']);
      expect(own[1]).toMatchObject({ groupId: 'initech', traits: { business_accounts: true } });
    }
    expect(messages.find((m) => m.userId === 'initech-ann' && m.type === 'identify')?.traits).toEqual({
      email: 'ann@initech.test',
    });
  });

  it('syncs an account entering and leaving into another Personae workspace, exactly once', async () => {
    const receiving = await listenOnLoopback(bed.app);
    try {
      const target = await createWorkspace(bed.app, 'Receiving workspace (accounts)');
      const audienceId = await accountAudience('paying_accounts', 'trait plan = "Pro"');
      const destinationId = await createSegment(receiving.url, target.writeKey);
      await api.connect(audienceId, destinationId, false, 'both');
      const there = (path: string) => bed.app.http().get(path).set('authorization', `Bearer ${target.apiToken}`);

      await account('globex', 'Pro');
      const entered = await waitFor(
        async () => {
          const response = await there('/api/accounts/globex');
          const body = response.body as { traits?: Record<string, unknown>; members: unknown[] };
          return response.status === 200 && body.traits?.paying_accounts === true ? body : undefined;
        },
        { what: 'globex in the receiving workspace with paying_accounts true', timeoutMs: 30_000 },
      );
      expect(entered.members).toHaveLength(3);

      await send([{ type: 'group', userId: 'globex-ann', groupId: 'globex', traits: { plan: 'Free' } }]);
      await waitFor(async () => (await there('/api/accounts/globex')).body.traits?.paying_accounts === false, {
        what: 'globex left, seen by the receiving workspace',
        timeoutMs: 30_000,
      });
      // Three members, two transitions: six deliveries, each sent once.
      await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 6, { what: 'six sent' });
      expect(await seed.statusCounts(destinationId)).toEqual({ sent: 6 });
      const [received] = await seed.query<{ groups: number; identifies: number }>(
        `SELECT count(*) FILTER (WHERE type = 'group')::int AS groups,
                count(*) FILTER (WHERE type = 'identify')::int AS identifies
         FROM events WHERE workspace_id = $1`,
        [target.workspaceId],
      );
      expect(received).toEqual({ groups: 6, identifies: 6 });
      const ann = await there('/api/profiles?identifier=user_id:globex-ann').expect(200);
      expect(ann.body.items[0].traits.email).toBe('ann@globex.test');
    } finally {
      await receiving.close();
    }
  });
});
