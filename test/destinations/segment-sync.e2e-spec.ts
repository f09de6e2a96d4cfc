import { gunzipSync } from 'node:zlib';

import { batchBody } from '../../src/destinations/segment-requests';
import { transitionMessageKey } from '../../src/destinations/transition-batches';
import { Prisma } from '../../src/generated/prisma/client';
import { DELIVERY_COLUMNS, profileDeliveries } from '../../src/membership/batch-diff-statement';
import { PrismaService } from '../../src/prisma/prisma.service';
import type { DeliveryRef } from '../../src/queues/delivery-queues.service';
import { createWorkspace, type WorkspaceCredentials } from '../support/app';
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
  event?: string;
  traits?: Record<string, unknown>;
  properties?: Record<string, unknown>;
  context: { library: { name: string }; traits?: Record<string, unknown>; personas: Record<string, unknown> };
}

/** The messages of a /v1/batch request, checking that the body is gzip and within Segment's limits. */
function batchOf(request: ReceivedRequest): Message[] {
  expect(request.headers['content-encoding']).toBe('gzip');
  const json = gunzipSync(request.raw);
  expect(json.length).toBeLessThanOrEqual(500 * 1024);
  const body = JSON.parse(json.toString('utf8')) as { batch: Message[]; sentAt: string };
  expect(body.batch.length).toBeLessThanOrEqual(2_500);
  expect(Number.isNaN(Date.parse(body.sentAt))).toBe(false);
  return body.batch;
}

describe('segment destinations', () => {
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

  async function receiver(respond?: Responder): Promise<HttpReceiver> {
    const r = await HttpReceiver.start(respond);
    receivers.push(r);
    return r;
  }

  async function createSegment(url: string, writeKey: string, rateLimitPerSecond?: number): Promise<string> {
    const response = await api
      .post('/api/destinations')
      .send({
        type: 'segment',
        name: 'Sync',
        config: { url, writeKey },
        ...(rateLimitPerSecond && { rateLimitPerSecond }),
      })
      .expect(201);
    return (response.body as { id: string }).id;
  }

  /**
   * Entered transitions of these people, the i-th in audience `audienceIds[i]`, written in one
   * statement in that order, as evaluation writes them: one transition batch per destination.
   */
  async function oneBatchOfTransitions(audienceIds: string[], people: string[]): Promise<DeliveryRef[]> {
    return seed.query<DeliveryRef>(
      `WITH transitions AS (
         INSERT INTO audience_transitions (workspace_id, audience_id, profile_id, kind, at, audience_version)
         SELECT $1, a, p, 'entered', now(), 1
         FROM unnest($2::uuid[], $3::uuid[]) WITH ORDINALITY u(a, p, n) ORDER BY n RETURNING *)
       INSERT INTO deliveries ${DELIVERY_COLUMNS.text} ${profileDeliveries.text}
       RETURNING id, destination_id AS "destinationId"`,
      [ws.workspaceId, audienceIds, people],
    );
  }

  it('stores the write key as a secret and validates the config', async () => {
    const created = await api
      .post('/api/destinations')
      .send({ type: 'segment', name: 'CIO', config: { url: 'https://cdp.customer.io', writeKey: 'cio-key-1' } })
      .expect(201);
    expect(created.body).toMatchObject({
      type: 'segment',
      config: { url: 'https://cdp.customer.io', hasWriteKey: true },
    });
    expect(JSON.stringify(created.body)).not.toContain('cio-key-1');
    const id = (created.body as { id: string }).id;
    const listed = await api.get('/api/destinations').expect(200);
    expect(JSON.stringify(listed.body)).not.toContain('cio-key-1');
    // Moving to another server needs the key again; renaming does not.
    const moved = await api
      .patch(`/api/destinations/${id}`)
      .send({ config: { url: 'https://api.segment.io' } })
      .expect(400);
    expect(moved.body.errors).toEqual([{ field: 'config.writeKey', reason: expect.stringContaining('given again') }]);
    await api
      .patch(`/api/destinations/${id}`)
      .send({ config: { url: 'https://api.segment.io', writeKey: 'seg-key-2' } })
      .expect(200);

    const missing = await api
      .post('/api/destinations')
      .send({ type: 'segment', name: 'x', config: { url: 'https://api.segment.io' } })
      .expect(400);
    expect(new Set((missing.body.errors as { field: string }[]).map((e) => e.field))).toEqual(
      new Set(['config.writeKey']),
    );
    const withCredentials = await api
      .post('/api/destinations')
      .send({ type: 'segment', name: 'x', config: { url: 'https://user:pw@api.segment.io', writeKey: 'k' } })
      .expect(400);
    expect(withCredentials.body.errors).toEqual([
      { field: 'config.url', reason: expect.stringContaining('credentials') },
    ]);
    const badType = await api.post('/api/destinations').send({ type: 'braze', name: 'x', config: {} }).expect(400);
    expect(badType.body.errors).toEqual([{ field: 'type', reason: expect.stringContaining('segment') }]);
  });

  it('syncs members entering and leaving into another Personae workspace, exactly once', async () => {
    const receiving = await listenOnLoopback(bed.app);
    try {
      const target = await createWorkspace(bed.app, 'Receiving workspace');
      const there = receivingWorkspace(bed.app, target);
      const audienceId = await seed.audience(ws.workspaceId, 'trial_users', 'Trial users');
      const destinationId = await createSegment(receiving.url, target.writeKey);
      await api.connect(audienceId, destinationId, false, 'both');
      const people = [];
      for (let i = 0; i < 6; i++) {
        const identities: Record<string, string> = { user_id: `sync-u${i}`, anonymous_id: `sync-a${i}` };
        people.push(await seed.profile(ws.workspaceId, { email: `sync${i}@example.test`, plan: 'trial' }, identities));
      }
      const at = Date.now();
      for (const [i, p] of people.entries()) await seed.enter(ws.workspaceId, audienceId, p, new Date(at + i));
      await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 6, { what: 'entries sent' });
      for (const p of people.slice(0, 2)) await seed.exit(ws.workspaceId, audienceId, p, new Date(at + 1_000));
      await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 8, { what: 'exits sent' });

      for (let i = 0; i < 6; i++) {
        const left = i < 2;
        const profile = await waitFor(
          async () => {
            const found = await there.profile(`user_id:sync-u${i}`);
            return found?.traits.trial_users === !left ? found : undefined;
          },
          { what: `profile ${i} with trial_users ${!left}` },
        );
        expect(profile.traits).toMatchObject({ email: `sync${i}@example.test`, trial_users: !left });
        expect(profile.traits).not.toHaveProperty('plan');
        const events = await waitFor(async () => {
          const found = await there.events(profile.id);
          return found.filter((e) => e.type === 'track').length === (left ? 2 : 1) ? found : undefined;
        });
        const tracks = events.filter((e) => e.type === 'track');
        expect(tracks.filter((e) => e.name === 'Audience Entered')).toHaveLength(1);
        expect(tracks.filter((e) => e.name === 'Audience Exited')).toHaveLength(left ? 1 : 0);
        expect(tracks.find((e) => e.name === 'Audience Entered')!.properties).toEqual({
          audience_key: 'trial_users',
          trial_users: true,
        });
        expect(events.filter((e) => e.type === 'identify')).toHaveLength(left ? 2 : 1);
      }
      // The anonymous id came along and resolves to the same person.
      const byAnonymous = await there.profile('anonymous_id:sync-a3');
      expect(byAnonymous?.traits.trial_users).toBe(true);
    } finally {
      await receiving.close();
    }
  });

  it('carries what the membership engine decides, from identify calls in one workspace to another', async () => {
    const receiving = await listenOnLoopback(bed.app);
    try {
      const target = await createWorkspace(bed.app, 'Receiving workspace (engine)');
      const there = receivingWorkspace(bed.app, target);
      const audience = await api
        .post('/api/audiences')
        .send({ key: 'on_trial', name: 'On trial', definition: 'trait plan = "trial"' })
        .expect(201);
      const audienceId = (audience.body as { id: string }).id;
      const destinationId = await createSegment(receiving.url, target.writeKey);
      await api.connect(audienceId, destinationId, false, 'both');
      const identify = (userId: string, plan: string) =>
        bed.app
          .http()
          .post('/v1/identify')
          .auth(ws.writeKey, '')
          .send({ userId, traits: { plan, email: `${userId}@example.test` } })
          .expect(200);
      await identify('engine-1', 'trial');
      await identify('engine-2', 'trial');
      await identify('engine-3', 'pro');
      const entered = await waitFor(
        async () => {
          const found = await there.profile('user_id:engine-1');
          return found?.traits.on_trial === true ? found : undefined;
        },
        { what: 'engine-1 entered, seen by the receiving workspace', timeoutMs: 30_000 },
      );
      await identify('engine-1', 'pro');
      await waitFor(async () => (await there.profile('user_id:engine-1'))?.traits.on_trial === false, {
        what: 'engine-1 left, seen by the receiving workspace',
        timeoutMs: 30_000,
      });
      await waitFor(async () => (await there.profile('user_id:engine-2'))?.traits.on_trial === true);
      expect(await there.profile('user_id:engine-3')).toBeUndefined();
      const names = (await there.events(entered.id)).filter((e) => e.type === 'track').map((e) => e.name);
      expect(names.sort()).toEqual(['Audience Entered', 'Audience Exited']);
    } finally {
      await receiving.close();
    }
  });

  it('posts Segment-spec identify + track batches, gzip, Basic auth, messageIds stable across a 503', async () => {
    const hook = await receiver((_, index) => (index === 0 ? { status: 503 } : { status: 200 }));
    const audienceId = await seed.audience(ws.workspaceId, 'power_users', 'Power users');
    const destinationId = await createSegment(`http://127.0.0.1:${hook.port}/`, 'wire-key');
    await api.connect(audienceId, destinationId, false, 'both');
    const refs = [];
    const transitions = [];
    const people = [];
    for (let i = 0; i < 20; i++) {
      const identities: Record<string, string> = i % 2 === 0 ? { user_id: `wire-${i}` } : { anonymous_id: `anon-${i}` };
      const p = await seed.profile(ws.workspaceId, { email: `Wire${i}@Example.test `, secret: 'x' }, identities);
      people.push(p);
      const written = await seed.transition(ws.workspaceId, audienceId, p, 'entered', new Date());
      refs.push(...written.deliveries);
      transitions.push(written.transitionId);
    }
    await seed.enqueue(refs);
    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 20, { what: 'sent after a 503' });

    // The 20 transitions went in one request, failed together and are retried in one job, so in
    // one request again: two in all, not 20 (nor a few, as retry jobs of one transition each were).
    expect(hook.requests).toHaveLength(2);
    for (const request of hook.requests) {
      expect(request.url).toBe('/v1/batch');
      expect(request.headers.authorization).toBe(`Basic ${Buffer.from('wire-key:').toString('base64')}`);
      expect(request.headers['content-type']).toBe('application/json');
    }
    const failed = batchOf(hook.requests[0]!);
    const delivered = hook.requests.slice(1).flatMap(batchOf);
    // What failed was sent again with the same messageIds, and everything was delivered once.
    const ids = delivered.map((m) => m.messageId);
    expect(new Set(ids).size).toBe(40);
    expect(ids).toEqual(expect.arrayContaining(failed.map((m) => m.messageId)));
    // Each transition's messageIds are fixed by destination and transition.
    for (const transitionId of transitions) {
      const key = transitionMessageKey(destinationId, transitionId);
      const identify = delivered.find((m) => m.messageId === `${key}-identify`)!;
      const track = delivered.find((m) => m.messageId === `${key}-track`)!;
      expect(identify).toMatchObject({ type: 'identify', traits: { power_users: true } });
      expect(identify.traits!.email).toMatch(/^wire\d+@example\.test$/);
      expect(identify.traits).not.toHaveProperty('secret');
      expect(track).toMatchObject({
        type: 'track',
        event: 'Audience Entered',
        properties: { audience_key: 'power_users', power_users: true },
        context: { library: { name: 'personae' }, traits: { email: identify.traits!.email } },
      });
      expect(track.context.personas).toMatchObject({ computation_key: 'power_users', space_id: ws.workspaceId });
      expect(track.userId ?? track.anonymousId).toBeTruthy();
      expect([identify.userId, identify.anonymousId]).toEqual([track.userId, track.anonymousId]);
      // identify comes first, so that the receiver knows the trait when the track arrives.
      expect(delivered.indexOf(identify)).toBeLessThan(delivered.indexOf(track));
    }
    expect(delivered.filter((m) => m.userId === 'wire-0')).toHaveLength(2);
    expect(delivered.filter((m) => m.anonymousId === 'anon-1')).toHaveLength(2);

    // Exits: false and Audience Exited.
    for (const p of people.slice(0, 3)) await seed.exit(ws.workspaceId, audienceId, p);
    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 23, { what: 'exits sent' });
    const exits = hook.requests.flatMap(batchOf).filter((m) => m.event === 'Audience Exited');
    expect(exits).toHaveLength(3);
    expect(exits[0]!.properties).toEqual({ audience_key: 'power_users', power_users: false });
    expect(
      hook.requests.flatMap(batchOf).filter((m) => m.type === 'identify' && m.traits!.power_users === false),
    ).toHaveLength(3);
  });

  it('backfills the members already in the audience when connected with backfill', async () => {
    const hook = await receiver();
    const audienceId = await seed.audience(ws.workspaceId, 'existing_members');
    for (let i = 0; i < 3; i++) {
      const p = await seed.profile(ws.workspaceId, {}, { user_id: `backfill-${i}` });
      await seed.transition(ws.workspaceId, audienceId, p, 'entered', new Date(Date.now() - 60_000));
    }
    const destinationId = await createSegment(`http://127.0.0.1:${hook.port}`, 'backfill-key');
    const connection = await api.connect(audienceId, destinationId, true);
    expect(connection.backfilled).toBe(3);
    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 3, { what: 'backfill sent' });
    const messages = hook.requests.flatMap(batchOf);
    expect(messages.filter((m) => m.type === 'identify' && m.traits!.existing_members === true)).toHaveLength(3);
    expect(
      messages
        .filter((m) => m.event === 'Audience Entered')
        .map((m) => m.userId)
        .sort(),
    ).toEqual(['backfill-0', 'backfill-1', 'backfill-2']);
  });

  it('keeps each request within 500 KB, several transitions to a request', async () => {
    const hook = await receiver();
    // A long audience name makes every message about 2.5 KB: about 100 transitions a request.
    const audienceId = await seed.audience(ws.workspaceId, 'big_batch', 'B'.repeat(2_400));
    const destinationId = await createSegment(`http://127.0.0.1:${hook.port}`, 'limits-key');
    await api.connect(audienceId, destinationId);
    const [{ n }] = (await seed.query<{ n: number }>(
      `WITH p AS (
         INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
         SELECT gen_random_uuid(), $1, jsonb_build_object('email', 'big' || g || '@example.test'), now(), now()
         FROM generate_series(1, 600) g RETURNING id),
       i AS (INSERT INTO identities (id, workspace_id, profile_id, type, value)
         SELECT gen_random_uuid(), $1, p.id, 'user_id', 'big-' || p.id FROM p RETURNING profile_id)
       SELECT count(*)::int AS n FROM i`,
      [ws.workspaceId],
    )) as [{ n: number }];
    expect(n).toBe(600);
    const profiles = await seed.query<{ id: string }>(
      `SELECT p.id FROM profiles p JOIN identities i ON i.profile_id = p.id
       WHERE p.workspace_id = $1 AND i.value LIKE 'big-%'`,
      [ws.workspaceId],
    );
    const refs = [];
    for (const p of profiles) {
      refs.push(...(await seed.transition(ws.workspaceId, audienceId, p.id, 'entered', new Date())).deliveries);
    }
    await seed.enqueue(refs);
    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 600, {
      what: '600 transitions sent',
      timeoutMs: 60_000,
    });
    const batches = hook.requests.map(batchOf);
    const messages = batches.flat();
    expect(messages).toHaveLength(1_200);
    expect(new Set(messages.map((m) => m.messageId)).size).toBe(1_200);
    // Fewer requests than transitions: they were batched.
    expect(batches.length).toBeLessThan(600 / 5);
    expect(Math.max(...batches.map((b) => b.length))).toBeGreaterThan(20);
  }, 90_000);

  it('sends the transitions of one engine statement as batches, exactly once, listing each transition', async () => {
    // Answers the first request 503 and refuses (400) any request carrying the poisoned person.
    const hook = await receiver((request, index) => {
      if (index === 0) return { status: 503 };
      return batchOf(request).some((m) => m.userId === 'batch-poison') ? { status: 400 } : { status: 200 };
    });
    const audienceId = await seed.audience(ws.workspaceId, 'batched');
    const destinationId = await createSegment(`http://127.0.0.1:${hook.port}`, 'batch-key');
    await api.connect(audienceId, destinationId);
    const profiles = await seed.query<{ id: string }>(
      `WITH p AS (
         INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
         SELECT gen_random_uuid(), $1, jsonb_build_object('email', 'batch' || g || '@example.test'), now(), now()
         FROM generate_series(1, 3000) g RETURNING id, traits->>'email' AS email)
       INSERT INTO identities (id, workspace_id, profile_id, type, value)
       SELECT gen_random_uuid(), $1, p.id, 'user_id',
              CASE WHEN p.email = 'batch1234@example.test' THEN 'batch-poison' ELSE 'batch-' || p.id END
       FROM p RETURNING profile_id AS id`,
      [ws.workspaceId],
    );
    const refs = await seed.enterTogether(
      ws.workspaceId,
      audienceId,
      profiles.map((p) => p.id),
    );
    // One row per 1,250 transitions of the statement, not one per transition.
    const written = await seed.query<{ n: number }>(
      `SELECT cardinality(transition_ids) AS n FROM deliveries WHERE destination_id = $1 ORDER BY n DESC`,
      [destinationId],
    );
    expect(written.map((row) => row.n)).toEqual([1_250, 1_250, 500]);
    await seed.enqueue(refs);
    await waitFor(
      async () => {
        const counts = await seed.statusCounts(destinationId);
        return counts.sent === 2_999 && counts.dead === 1;
      },
      { what: '2,999 sent and the refused one dead', timeoutMs: 60_000 },
    );

    // Every message the receiver accepted, once; what the 503 refused came again with the same messageIds.
    const accepted = hook.requests
      .filter((request, index) => index > 0 && !batchOf(request).some((m) => m.userId === 'batch-poison'))
      .flatMap(batchOf);
    expect(accepted).toHaveLength(2 * 2_999);
    expect(new Set(accepted.map((m) => m.messageId)).size).toBe(2 * 2_999);
    const retried = batchOf(hook.requests[0]!).filter((m) => m.userId !== 'batch-poison');
    expect(retried.length).toBeGreaterThan(0);
    expect(accepted.map((m) => m.messageId)).toEqual(expect.arrayContaining(retried.map((m) => m.messageId)));

    // The rows still hold each transition once; the refused one is alone in a row with the reason.
    const [ledger] = await seed.query<{ total: number; distinct: number }>(
      `SELECT count(*)::int AS total, count(DISTINCT t)::int AS distinct
       FROM deliveries d CROSS JOIN LATERAL unnest(d.transition_ids) t WHERE d.destination_id = $1`,
      [destinationId],
    );
    expect(ledger).toEqual({ total: 3_000, distinct: 3_000 });
    const dead = await seed.query<{ n: number; last_error: string }>(
      `SELECT cardinality(transition_ids) AS n, last_error FROM deliveries WHERE destination_id = $1 AND status = 'dead'`,
      [destinationId],
    );
    expect(dead).toEqual([{ n: 1, last_error: 'http 400: ok' }]);

    // The delivery list shows one entry per transition, page after page, each once.
    const listed: { transitionId: string; status: string; lastError: string | null; profileId: string }[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: typeof listed; nextCursor: string | null } } = await api
        .get(`/api/destinations/${destinationId}/deliveries`)
        .query({ limit: 700, ...(cursor && { cursor }) })
        .expect(200);
      listed.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(listed).toHaveLength(3_000);
    expect(new Set(listed.map((item) => item.transitionId)).size).toBe(3_000);
    const deadItems = await api
      .get(`/api/destinations/${destinationId}/deliveries`)
      .query({ status: 'dead' })
      .expect(200);
    expect(deadItems.body.items).toEqual([
      expect.objectContaining({ status: 'dead', lastError: 'http 400: ok', kind: 'entered', audienceKey: 'batched' }),
    ]);
    const destination = await api.get(`/api/destinations/${destinationId}`).expect(200);
    expect(destination.body.counts).toMatchObject({ sent: 2_999, dead: 1 });
  }, 120_000);

  it('fills the last request of one claim with the next claim, so a sync makes the requests its bytes need', async () => {
    const hook = await receiver();
    const audienceId = await seed.audience(ws.workspaceId, 'filled');
    // A longer name (in every message's context): a claim of 1,250 transitions is 3.1–3.45 requests.
    await seed.query(`UPDATE audiences SET name = repeat('n', 30) WHERE id = $1`, [audienceId]);
    const destinationId = await createSegment(`http://127.0.0.1:${hook.port}`, 'fill-key');
    await api.connect(audienceId, destinationId);
    const profiles = await seed.query<{ id: string }>(
      `WITH p AS (
         INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
         SELECT gen_random_uuid(), $1, jsonb_build_object('email', 'fill' || g || '@example.test'), now(), now()
         FROM generate_series(1, 2500) g RETURNING id)
       INSERT INTO identities (id, workspace_id, profile_id, type, value)
       SELECT gen_random_uuid(), $1, p.id, 'user_id', 'fill-' || p.id FROM p RETURNING profile_id AS id`,
      [ws.workspaceId],
    );
    const refs = await seed.enterTogether(
      ws.workspaceId,
      audienceId,
      profiles.map((p) => p.id),
    );
    expect(refs).toHaveLength(2);
    await seed.enqueue(refs);
    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 2_500, {
      what: '2,500 sent',
      timeoutMs: 60_000,
    });
    const bytes = hook.requests.map((request) =>
      batchBody(
        batchOf(request).map((m) => JSON.stringify(m)),
        new Date(),
      ),
    );
    const total = bytes.reduce((sum, body) => sum + body.length, 0);
    // Each claim alone needs 4 requests (about 3.4 by bytes); the two together need 7, not 8.
    expect(total / 2 / (500 * 1024)).toBeGreaterThan(3.1);
    expect(total / 2 / (500 * 1024)).toBeLessThan(3.45);
    expect(hook.requests).toHaveLength(7);
    for (const body of bytes) expect(body.length).toBeLessThanOrEqual(500 * 1024);
    expect(new Set(hook.requests.flatMap(batchOf).map((m) => m.messageId)).size).toBe(5_000);
  });

  it('skips the transitions of a batch whose audience was disconnected before it went out', async () => {
    const hook = await receiver();
    const kept = await seed.audience(ws.workspaceId, 'kept_batch');
    const dropped = await seed.audience(ws.workspaceId, 'dropped_batch');
    const destinationId = await createSegment(`http://127.0.0.1:${hook.port}`, 'disconnect-key');
    await api.connect(kept, destinationId);
    await api.connect(dropped, destinationId);
    const people = [];
    for (let i = 0; i < 4; i++) people.push(await seed.profile(ws.workspaceId, {}, { user_id: `disc-${i}` }));
    // One statement, two audiences of the same destination: one transition batch for both.
    const refs = await oneBatchOfTransitions([kept, kept, dropped, dropped], people);
    expect(refs).toHaveLength(1);
    await api.delete(`/api/audiences/${dropped}/destinations/${destinationId}`).expect(204);
    await seed.enqueue(refs);
    await waitFor(
      async () => {
        const counts = await seed.statusCounts(destinationId);
        return counts.sent === 2 && counts.skipped === 2;
      },
      { what: 'the kept audience sent, the dropped one skipped' },
    );
    const messages = hook.requests.flatMap(batchOf);
    expect(messages.map((m) => m.userId).sort()).toEqual(['disc-0', 'disc-0', 'disc-1', 'disc-1']);
    const skipped = await api
      .get(`/api/destinations/${destinationId}/deliveries`)
      .query({ status: 'skipped' })
      .expect(200);
    expect(skipped.body.items).toEqual([
      expect.objectContaining({ lastError: 'disconnected', audienceKey: 'dropped_batch' }),
      expect.objectContaining({ lastError: 'disconnected', audienceKey: 'dropped_batch' }),
    ]);
  });

  it('names each transition of a batch of interleaved audiences by its own audience', async () => {
    const hook = await receiver();
    const audiences = [
      await seed.audience(ws.workspaceId, 'mixed_a'),
      await seed.audience(ws.workspaceId, 'mixed_b'),
      await seed.audience(ws.workspaceId, 'mixed_c'),
    ];
    const destinationId = await createSegment(`http://127.0.0.1:${hook.port}`, 'mixed-key');
    for (const audienceId of audiences) await api.connect(audienceId, destinationId);
    const people = [];
    for (let i = 0; i < 9; i++) people.push(await seed.profile(ws.workspaceId, {}, { user_id: `mixed-${i}` }));
    // One statement, one batch whose transitions alternate a, b, c in id order: the claim reads
    // an audience once per run of transitions of one audience, so every row starts a new run.
    const refs = await oneBatchOfTransitions(
      people.map((_, i) => audiences[i % 3]!),
      people,
    );
    expect(refs).toHaveLength(1);
    await api.delete(`/api/audiences/${audiences[2]}/destinations/${destinationId}`).expect(204);
    await seed.enqueue(refs);
    await waitFor(
      async () => {
        const counts = await seed.statusCounts(destinationId);
        return counts.sent === 6 && counts.skipped === 3;
      },
      { what: 'a and b sent, c skipped' },
    );
    const tracks = hook.requests.flatMap(batchOf).filter((m) => m.type === 'track');
    const keys = Object.fromEntries(
      tracks.map((m) => [m.userId, (m.properties as { audience_key: string }).audience_key]),
    );
    expect(keys).toEqual({
      'mixed-0': 'mixed_a',
      'mixed-1': 'mixed_b',
      'mixed-3': 'mixed_a',
      'mixed-4': 'mixed_b',
      'mixed-6': 'mixed_a',
      'mixed-7': 'mixed_b',
    });
    const skipped = await api
      .get(`/api/destinations/${destinationId}/deliveries`)
      .query({ status: 'skipped' })
      .expect(200);
    const { items } = skipped.body as { items: { audienceKey: string }[] };
    expect(items.map((item) => item.audienceKey)).toEqual(['mixed_c', 'mixed_c', 'mixed_c']);
  });

  it('claims on connections without JIT, which compiled a claim for longer than it ran', async () => {
    const [row] = await bed.app.personae.app
      .get(PrismaService)
      .query<{ jit: string }>(Prisma.sql`SELECT current_setting('jit') AS jit`);
    expect(row).toEqual({ jit: 'off' });
  });

  it('waits as long as a 429 says, and gives up at once on another 4xx with the reason', async () => {
    const limited = await receiver((_, index) =>
      index === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 },
    );
    const refusing = await receiver(() => ({ status: 400 }));
    const audienceId = await seed.audience(ws.workspaceId, 'limited');
    const patient = await createSegment(`http://127.0.0.1:${limited.port}`, 'k429');
    const strict = await createSegment(`http://127.0.0.1:${refusing.port}`, 'k400');
    await api.connect(audienceId, patient);
    await api.connect(audienceId, strict);
    const p = await seed.profile(ws.workspaceId, {}, { user_id: 'u-429' });
    await seed.enter(ws.workspaceId, audienceId, p);

    await waitFor(async () => (await seed.statusCounts(patient)).sent === 1, { what: 'sent after the 429' });
    expect(limited.requests).toHaveLength(2);
    expect(limited.requests[1]!.at - limited.requests[0]!.at).toBeGreaterThanOrEqual(1_900);
    expect(batchOf(limited.requests[1]!).map((m) => m.messageId)).toEqual(
      batchOf(limited.requests[0]!).map((m) => m.messageId),
    );
    const [row] = await seed.deliveries(patient);
    expect(row).toMatchObject({ attempts: 2 });

    await waitFor(async () => (await seed.statusCounts(strict)).dead === 1, { what: '400 is final' });
    expect(refusing.requests).toHaveLength(1);
    const [dead] = await seed.deliveries(strict);
    expect(dead).toMatchObject({ attempts: 1, last_error: 'http 400: ok' });
  });

  it('spaces out a rate-limited destination', async () => {
    const hook = await receiver();
    const audienceId = await seed.audience(ws.workspaceId, 'rate_limited');
    const destinationId = await createSegment(`http://127.0.0.1:${hook.port}`, 'rate-key', 10);
    await api.connect(audienceId, destinationId);
    const refs = [];
    for (let i = 0; i < 20; i++) {
      const p = await seed.profile(ws.workspaceId, {}, { user_id: `rate-${i}` });
      refs.push(...(await seed.transition(ws.workspaceId, audienceId, p, 'entered', new Date())).deliveries);
    }
    const started = Date.now();
    await seed.enqueue(refs);
    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 20, { what: 'rate-limited sync' });
    // 20 transitions at 10 a second take more than a second (BullMQ's limiter, as for email).
    const messages = hook.requests.flatMap(batchOf);
    expect(messages).toHaveLength(40);
    expect(hook.requests[hook.requests.length - 1]!.at - started).toBeGreaterThanOrEqual(1_000);
  });
});
