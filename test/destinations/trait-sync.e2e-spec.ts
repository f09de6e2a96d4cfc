import { gunzipSync } from 'node:zlib';

import { signWebhook } from '../../src/destinations/webhook-signature';
import { createWorkspace } from '../support/app';
import { waitFor } from '../support/wait-for';
import { HttpReceiver, ReceivedRequest, Responder } from './support/http-receiver';
import { listenOnLoopback, receivingWorkspace } from './support/personae-receiver';
import type { Seed } from './support/seed';
import { Testbed } from './support/testbed';

interface Message {
  type: string;
  messageId: string;
  timestamp: string;
  userId?: string;
  anonymousId?: string;
  traits?: Record<string, unknown>;
  context: { personas: Record<string, unknown> };
}

function batchOf(request: ReceivedRequest): Message[] {
  return (JSON.parse(gunzipSync(request.raw).toString('utf8')) as { batch: Message[] }).batch;
}

/**
 * Computed traits synced to segment and webhook destinations: a change of value is one identify
 * (or one signed webhook with old and new value), exactly once, from the trait's history table.
 */
describe('computed traits to destinations', () => {
  let bed: Testbed;
  let seed: Seed;
  let api: Testbed['api'];
  const receivers: HttpReceiver[] = [];

  beforeAll(async () => {
    bed = await Testbed.start();
    ({ seed, api } = bed);
  });

  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await bed.close();
  });

  async function receiver(respond?: Responder): Promise<HttpReceiver> {
    const r = await HttpReceiver.start(respond);
    receivers.push(r);
    return r;
  }

  async function createSegment(url: string, writeKey: string): Promise<string> {
    const response = await api
      .post('/api/destinations')
      .send({ type: 'segment', name: 'Sync', config: { url, writeKey } })
      .expect(201);
    return (response.body as { id: string }).id;
  }

  /** A trait as the engine stores it, with values and their history rows written as it writes them. */
  async function storedTrait(workspaceId: string, key: string, level = 'profile'): Promise<string> {
    const [row] = await seed.query<{ id: string }>(
      `INSERT INTO computed_traits (id, workspace_id, key, name, level, definition_ast, definition_text, status, updated_at)
       VALUES (gen_random_uuid(), $1, $2, $2, $3::subject_level, '{}', 'test', 'ready', now()) RETURNING id`,
      [workspaceId, key, level],
    );
    return row!.id;
  }

  async function change(workspaceId: string, traitId: string, profileId: string, value: unknown, at = new Date()) {
    const [old] = await seed.query<{ value: unknown }>(
      `SELECT value FROM computed_trait_values WHERE trait_id = $1 AND profile_id = $2`,
      [traitId, profileId],
    );
    await seed.query(
      `INSERT INTO computed_trait_values (trait_id, workspace_id, profile_id, value, updated_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (trait_id, profile_id) DO UPDATE SET value = EXCLUDED.value`,
      [traitId, workspaceId, profileId, JSON.stringify(value), at],
    );
    await seed.query(
      `INSERT INTO computed_trait_history (workspace_id, trait_id, profile_id, old_value, new_value, at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [workspaceId, traitId, profileId, old ? JSON.stringify(old.value) : null, JSON.stringify(value), at],
    );
  }

  it('refuses what it cannot sync, with the field and the reason', async () => {
    const ws = bed.ws;
    const traitId = await storedTrait(ws.workspaceId, 'refusals');
    const accountTrait = await storedTrait(ws.workspaceId, 'account_refusals', 'account');
    const email = await api.createEmail({
      from: 'a@example.test',
      subject: 's',
      text: 't',
      smtpUrl: 'smtp://127.0.0.1:1',
    });
    const hook = await receiver();
    const segment = await createSegment(`http://127.0.0.1:${hook.port}`, 'k');

    const refused = await api.post(`/api/traits/${traitId}/destinations`).send({ destinationId: email }).expect(400);
    expect(refused.body.errors).toEqual([
      { field: 'destinationId', reason: expect.stringContaining('segment and webhook') },
    ]);
    const account = await api
      .post(`/api/traits/${accountTrait}/destinations`)
      .send({ destinationId: segment })
      .expect(400);
    expect(account.body.errors).toEqual([{ field: 'id', reason: expect.stringContaining('account-level') }]);
    await api
      .post(`/api/traits/00000000-0000-4000-8000-000000000000/destinations`)
      .send({ destinationId: segment })
      .expect(404);
    await api.post(`/api/traits/not-a-uuid/destinations`).send({ destinationId: segment }).expect(400);
    await api.post(`/api/traits/${traitId}/destinations`).send({ destinationId: 'x', backfill: 'yes' }).expect(400);

    const connected = await api
      .post(`/api/traits/${traitId}/destinations`)
      .send({ destinationId: segment })
      .expect(201);
    expect(connected.body).toMatchObject({
      traitId,
      destinationId: segment,
      destinationType: 'segment',
      backfill: false,
      backfilled: 0,
    });
    await api.post(`/api/traits/${traitId}/destinations`).send({ destinationId: segment }).expect(409);
    const listed = await api.get(`/api/traits/${traitId}/destinations`).expect(200);
    expect(listed.body.items).toHaveLength(1);
    await api.delete(`/api/traits/${traitId}/destinations/${segment}`).expect(204);
    await api.delete(`/api/traits/${traitId}/destinations/${segment}`).expect(404);

    // Another workspace sees neither the trait nor its connections.
    const other = await createWorkspace(bed.app, 'Other');
    await bed.app
      .http()
      .get(`/api/traits/${traitId}/destinations`)
      .set('authorization', `Bearer ${other.apiToken}`)
      .expect(404);
  });

  it('sends each change once as an identify (backfill, changes, a 503 retried with the same messageIds)', async () => {
    const ws = bed.ws;
    const hook = await receiver((_, index) => (index === 1 ? { status: 503 } : { status: 200 }));
    const traitId = await storedTrait(ws.workspaceId, 'lifetime_orders');
    const ann = await seed.profile(ws.workspaceId, { email: 'ann@example.test' }, { user_id: 'ts-ann' });
    const bob = await seed.profile(ws.workspaceId, {}, { anonymous_id: 'ts-bob' });
    const cid = await seed.profile(ws.workspaceId, { email: 'cid@example.test' }, { user_id: 'ts-cid' });
    // Values before the connection: ann's and bob's current ones are backfilled, cid's old one is not.
    await change(ws.workspaceId, traitId, ann, 1, new Date(Date.now() - 60_000));
    await change(ws.workspaceId, traitId, ann, 2, new Date(Date.now() - 30_000));
    await change(ws.workspaceId, traitId, bob, 5, new Date(Date.now() - 30_000));
    const destinationId = await createSegment(`http://127.0.0.1:${hook.port}`, 'trait-key');
    const connected = await api
      .post(`/api/traits/${traitId}/destinations`)
      .send({ destinationId, backfill: true })
      .expect(201);
    expect(connected.body.backfilled).toBe(2);
    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 2, { what: 'backfill sent' });

    // Changes after the connection: one delivery each, in the transaction that wrote the change.
    await change(ws.workspaceId, traitId, ann, 3);
    await change(ws.workspaceId, traitId, cid, 'gold');
    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 4, { what: 'changes sent' });

    const messages = hook.requests.filter((_, i) => i !== 1).flatMap(batchOf);
    const failed = batchOf(hook.requests[1]!);
    expect(messages).toHaveLength(4);
    expect(messages.every((m) => m.type === 'identify')).toBe(true);
    expect(new Set(messages.map((m) => m.messageId)).size).toBe(4);
    expect(messages.map((m) => m.messageId)).toEqual(expect.arrayContaining(failed.map((m) => m.messageId)));
    const deliveries = await seed.query<{ id: string; change: string }>(
      `SELECT id, trait_change_id::text AS change FROM deliveries WHERE destination_id = $1`,
      [destinationId],
    );
    for (const d of deliveries) expect(messages.map((m) => m.messageId)).toContain(`${d.id}-identify`);
    const of = (id: string) => messages.filter((m) => m.userId === id || m.anonymousId === id).map((m) => m.traits);
    expect(of('ts-ann')).toEqual([
      { email: 'ann@example.test', lifetime_orders: 2 },
      { email: 'ann@example.test', lifetime_orders: 3 },
    ]);
    expect(of('ts-bob')).toEqual([{ lifetime_orders: 5 }]);
    expect(of('ts-cid')).toEqual([{ email: 'cid@example.test', lifetime_orders: 'gold' }]);
    expect(messages[0]!.context.personas).toMatchObject({
      computation_class: 'trait',
      computation_key: 'lifetime_orders',
    });

    // A value that goes away is sent as null; disconnecting skips what still waits.
    await seed.query(`DELETE FROM computed_trait_values WHERE trait_id = $1 AND profile_id = $2`, [traitId, bob]);
    await seed.query(
      `INSERT INTO computed_trait_history (workspace_id, trait_id, profile_id, old_value, new_value, at)
       VALUES ($1, $2, $3, '5', NULL, now())`,
      [ws.workspaceId, traitId, bob],
    );
    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 5, { what: 'removal sent' });
    const removal = hook.requests
      .flatMap(batchOf)
      .find((m) => m.anonymousId === 'ts-bob' && m.traits!.lifetime_orders === null);
    expect(removal).toBeDefined();
    await api.delete(`/api/traits/${traitId}/destinations/${destinationId}`).expect(204);
    await change(ws.workspaceId, traitId, ann, 4);
    const [after] = await seed.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM deliveries WHERE destination_id = $1`,
      [destinationId],
    );
    expect(after!.n).toBe(5);
  });

  it('posts a signed webhook with the old and the new value', async () => {
    const ws = bed.ws;
    const hook = await receiver();
    const secret = 'trait-webhook-secret-1';
    const traitId = await storedTrait(ws.workspaceId, 'plan_value');
    const dee = await seed.profile(ws.workspaceId, { email: 'dee@example.test' }, { user_id: 'ts-dee' });
    const destinationId = await api.createWebhook({ url: hook.url, secret });
    await api.post(`/api/traits/${traitId}/destinations`).send({ destinationId }).expect(201);
    await change(ws.workspaceId, traitId, dee, 10);
    await change(ws.workspaceId, traitId, dee, 25.5);
    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 2, { what: 'webhooks sent' });
    const bodies = hook.requests.map((r) => {
      expect(r.headers['x-personae-signature']).toBe(signWebhook(secret, r.body));
      return JSON.parse(r.body) as Record<string, unknown>;
    });
    const changes = bodies.map((b) => b.change);
    expect(changes).toEqual(
      expect.arrayContaining([
        { trait_key: 'plan_value', old_value: null, new_value: 10 },
        { trait_key: 'plan_value', old_value: 10, new_value: 25.5 },
      ]),
    );
    expect(bodies[0]).toMatchObject({ type: 'identify', userId: 'ts-dee', traits: { email: 'dee@example.test' } });
  });

  it('carries what the trait engine computes into another Personae workspace, once per change', async () => {
    const ws = bed.ws;
    const receiving = await listenOnLoopback(bed.app);
    try {
      const target = await createWorkspace(bed.app, 'Receiving workspace (traits)');
      const there = receivingWorkspace(bed.app, target);
      const created = await api
        .post('/api/traits')
        .send({ key: 'orders_count', name: 'Orders', definition: 'count "Order Completed"' })
        .expect(201);
      const traitId = (created.body as { id: string }).id;
      await waitFor(async () => (await api.get(`/api/traits/${traitId}`)).body.status === 'ready', {
        what: 'trait computed',
      });
      const destinationId = await createSegment(receiving.url, target.writeKey);
      const connection = await api.post(`/api/traits/${traitId}/destinations`).send({ destinationId }).expect(201);
      const connectedAt = (connection.body as { connectedAt: string }).connectedAt;
      const order = () =>
        bed.app
          .http()
          .post('/v1/track')
          .auth(ws.writeKey, '')
          .send({ userId: 'engine-trait-1', event: 'Order Completed', properties: {} })
          .expect(200);
      await bed.app
        .http()
        .post('/v1/identify')
        .auth(ws.writeKey, '')
        .send({ userId: 'engine-trait-1', traits: { email: 'engine-trait-1@example.test' } })
        .expect(200);
      await order();
      await waitFor(async () => (await there.profile('user_id:engine-trait-1'))?.traits.orders_count === 1, {
        what: 'the first order seen by the receiving workspace',
        timeoutMs: 30_000,
      });
      await order();
      const profile = await waitFor(
        async () => {
          const found = await there.profile('user_id:engine-trait-1');
          return found?.traits.orders_count === 2 ? found : undefined;
        },
        { what: 'the second order seen by the receiving workspace', timeoutMs: 30_000 },
      );
      expect(profile.traits.email).toBe('engine-trait-1@example.test');
      // A full recomputation that changes nothing sends nothing.
      await api.post(`/api/traits/${traitId}/compute`).expect((r) => expect(r.status).toBeLessThan(300));
      await waitFor(async () => (await api.get(`/api/traits/${traitId}`)).body.status === 'ready');
      const [counts] = await seed.query<{ changes: number; deliveries: number }>(
        `SELECT (SELECT count(*)::int FROM computed_trait_history WHERE trait_id = $1 AND at >= $3) AS changes,
                (SELECT count(*)::int FROM deliveries WHERE destination_id = $2) AS deliveries`,
        [traitId, destinationId, connectedAt],
      );
      // One delivery per change since the connection (the new profile's 0, then 1 and 2), none before.
      expect(counts!.deliveries).toBe(counts!.changes);
      expect(counts!.changes).toBeGreaterThanOrEqual(2);
      await waitFor(async () => (await seed.statusCounts(destinationId)).sent === counts!.deliveries);
      const identifies = (await there.events(profile.id)).filter((e) => e.type === 'identify');
      // Only the trait's identifies reach the receiver, one per change.
      expect(identifies).toHaveLength(counts!.deliveries);
    } finally {
      await receiving.close();
    }
  });
});
