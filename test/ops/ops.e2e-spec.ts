import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from 'pg';
import request from 'supertest';

import { createPersonae } from '../../src/app.factory';
import { loadConfig } from '../../src/config/app-config';
import { DEFAULT_MIGRATIONS_DIR, loadMigrations, migrate } from '../../src/database/migrator';
import {
  createWorkspace,
  startTestApp,
  TEST_ADMIN_TOKEN,
  TestApp,
  testEnvironment,
  WorkspaceCredentials,
} from '../support/app';
import { createEmptyDatabase } from '../support/database';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('operations endpoints', () => {
  let app: TestApp;
  let workspace: WorkspaceCredentials;
  let sql: Client;

  beforeAll(async () => {
    // Every scrape reads shared state afresh (metrics-access.e2e-spec.ts covers the interval).
    app = await startTestApp({ ROLE: 'api', METRICS_COLLECT_INTERVAL_MS: '0' });
    workspace = await createWorkspace(app);
    sql = new Client({ connectionString: app.database.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql.end();
    await app.close();
  });

  describe('liveness and readiness', () => {
    it('is live and ready with Postgres, Redis and every migration in place', async () => {
      await app.http().get('/health/live').expect(200, { status: 'ok' });
      const ready = await app.http().get('/health/ready').expect(200);
      expect(ready.body).toMatchObject({ status: 'ok', migrations: { status: 'current', pending: [] } });
    });

    it('is not ready while a migration is pending', async () => {
      const migrations = await loadMigrations();
      const first = migrations[0]!;
      const partial = await mkdtemp(join(tmpdir(), 'personae-partial-'));
      await cp(join(DEFAULT_MIGRATIONS_DIR, first.name), join(partial, first.name), { recursive: true });
      const database = await createEmptyDatabase();
      await migrate(database.url, partial);
      const personae = await createPersonae(loadConfig(testEnvironment(database, { ROLE: 'api' })));
      try {
        const response = await request(personae.http!.getHttpServer()).get('/health/ready').expect(503);
        expect(response.headers['retry-after']).toBe('5');
        expect(response.body.migrations).toEqual({
          status: 'pending',
          pending: migrations.slice(1).map((m) => m.name),
        });
        await request(personae.http!.getHttpServer()).get('/health/live').expect(200);
      } finally {
        await personae.close();
        await database.drop();
      }
    });
  });

  describe('GET /metrics', () => {
    it('counts HTTP requests by route and status and reports queue depth', async () => {
      await app.http().get('/api/workspace').expect(401);
      await app.http().get('/api/workspace').set('authorization', `Bearer ${workspace.apiToken}`).expect(200);
      const response = await app.http().get('/metrics').set('authorization', `Bearer ${TEST_ADMIN_TOKEN}`).expect(200);
      expect(response.headers['content-type']).toContain('text/plain');
      const text = response.text;
      expect(text).toMatch(
        /^personae_http_request_duration_seconds_count\{method="GET",route="\/api\/workspace",status="401"\} 1$/m,
      );
      expect(text).toMatch(
        /^personae_http_request_duration_seconds_count\{method="GET",route="\/api\/workspace",status="200"\} 1$/m,
      );
      expect(text).toMatch(
        /^personae_http_request_duration_seconds_count\{method="POST",route="\/api\/workspaces",status="201"\} 1$/m,
      );
      for (const queue of ['evaluate', 'compute', 'maintenance']) {
        expect(text).toMatch(new RegExp(`^personae_queue_jobs\\{queue="${queue}",state="waiting"\\} 0$`, 'm'));
      }
      expect(text).toMatch(/^personae_process_nodejs_heap_size_used_bytes \d+/m);
    });

    it('counts accepted and rejected events and times ingest after real tracking traffic', async () => {
      const batch = {
        batch: [
          { type: 'track', event: 'Signed Up', userId: 'metrics-1' },
          { type: 'track', event: 'Tutorial Viewed', userId: 'metrics-1' },
          { type: 'identify', userId: 'metrics-1', traits: { plan: 'pro' } },
        ],
      };
      await app.http().post('/v1/batch').auth(workspace.writeKey, '').send(batch).expect(200);
      await app.http().post('/v1/track').auth(workspace.writeKey, '').send({ userId: 'x' }).expect(400);
      await app.http().post('/v1/track').auth('wk_unknown', '').send({ userId: 'x', event: 'E' }).expect(401);
      const text = (await app.http().get('/metrics').set('authorization', `Bearer ${TEST_ADMIN_TOKEN}`).expect(200))
        .text;
      expect(text).toMatch(/^personae_events_accepted_total\{type="track"\} 2$/m);
      expect(text).toMatch(/^personae_events_accepted_total\{type="identify"\} 1$/m);
      expect(text).toMatch(/^personae_events_rejected_total\{reason="validation"\} 1$/m);
      expect(text).toMatch(/^personae_events_rejected_total\{reason="unauthorized"\} 1$/m);
      expect(text).toMatch(/^personae_ingest_duration_seconds_count 1$/m);
      expect(text).toMatch(/^personae_outbox_backlog \d+$/m);
    });

    it('reports audience size, staleness and deliveries by status from Postgres', async () => {
      const audienceId = await insertAudience('metrics-audience', { memberCount: 42, computedSecondsAgo: 120 });
      const destinationId = await insertDestination('Metrics hook');
      await insertDelivery(audienceId, destinationId, 'sent');
      await insertDelivery(audienceId, destinationId, 'dead');
      const text = (await app.http().get('/metrics').set('authorization', `Bearer ${TEST_ADMIN_TOKEN}`).expect(200))
        .text;
      const labels = `workspace="${workspace.workspaceId}",audience="metrics-audience"`;
      expect(text).toContain(`personae_audience_members{${labels}} 42`);
      expect(text).toMatch(
        new RegExp(`^personae_audience_seconds_since_computed\\{${labels}\\} (1[2-9]\\d|[2-9]\\d\\d)`, 'm'),
      );
      const deliveryLabels = `workspace="${workspace.workspaceId}",destination="${destinationId}"`;
      expect(text).toContain(`personae_deliveries{${deliveryLabels},status="sent"} 1`);
      expect(text).toContain(`personae_deliveries{${deliveryLabels},status="dead"} 1`);
      expect(text).toMatch(
        new RegExp(`^personae_queue_jobs\\{queue="deliver-${destinationId}",state="waiting"\\} 0$`, 'm'),
      );
    });
  });

  describe('GET /api/status', () => {
    it('is ok for a quiet workspace and needs a token', async () => {
      const other = await createWorkspace(app, 'Quiet');
      await app.http().get('/api/status').expect(401);
      const response = await app.http().get('/api/status').set('authorization', `Bearer ${other.apiToken}`).expect(200);
      expect(response.body).toMatchObject({
        status: 'ok',
        problems: [],
        audiences: { total: 0, stale: [], failed: [] },
        destinations: { failing: [] },
        deliveries: { dead: 0 },
        outbox: { backlog: 0, oldestSeconds: null },
      });
    });

    it('names stale audiences, failing destinations and dead letters', async () => {
      const ws = await createWorkspace(app, 'Unwell');
      const audienceId = await insertAudience('stale-one', {
        computedSecondsAgo: 7200,
        interval: 600,
        workspaceId: ws.workspaceId,
      });
      await insertAudience('fresh-one', { computedSecondsAgo: 10, interval: 600, workspaceId: ws.workspaceId });
      const destinationId = await insertDestination('Flaky hook', ws.workspaceId);
      await insertDelivery(audienceId, destinationId, 'sent', ws.workspaceId);
      await insertDelivery(audienceId, destinationId, 'failed', ws.workspaceId);
      await insertDelivery(audienceId, destinationId, 'dead', ws.workspaceId);
      const response = await app.http().get('/api/status').set('authorization', `Bearer ${ws.apiToken}`).expect(200);
      expect(response.body.status).toBe('degraded');
      const stale = response.body.audiences.stale as { key: string }[];
      expect(stale.map((a) => a.key)).toEqual(['stale-one']);
      expect(response.body.destinations.failing).toEqual([
        expect.objectContaining({ id: destinationId, name: 'Flaky hook', attempted: 3, failed: 2 }),
      ]);
      expect(response.body.deliveries.dead).toBe(1);
      expect(response.body.problems).toEqual(
        expect.arrayContaining([
          expect.stringContaining('audience stale-one'),
          expect.stringContaining('destination Flaky hook failed 67%'),
          '1 deliveries are dead-lettered',
        ]),
      );
      const lenient = await app
        .http()
        .get('/api/status?failureRateThreshold=0.9')
        .set('authorization', `Bearer ${ws.apiToken}`)
        .expect(200);
      expect(lenient.body.destinations.failing).toEqual([]);
      await app
        .http()
        .get('/api/status?failureRateThreshold=2')
        .set('authorization', `Bearer ${ws.apiToken}`)
        .expect(400);
    });
  });

  describe('queue dashboard at /admin/queues', () => {
    it('refuses without credentials and asks the browser for them', async () => {
      const response = await app.http().get('/admin/queues').expect(401);
      expect(response.headers['www-authenticate']).toMatch(/^Basic realm="Personae queues"/);
      await app.http().get('/admin/queues').set('authorization', basic('admin', 'wrong-password')).expect(401);
      await app.http().get('/admin/queues/api/queues').set('authorization', `Bearer ${workspace.apiToken}`).expect(401);
    });

    it('shows every queue with the admin token as Basic password or bearer token', async () => {
      const page = await app
        .http()
        .get('/admin/queues')
        .set('authorization', basic('admin', TEST_ADMIN_TOKEN))
        .expect(200);
      expect(page.headers['content-type']).toContain('text/html');
      const api = await app
        .http()
        .get('/admin/queues/api/queues')
        .set('authorization', `Bearer ${TEST_ADMIN_TOKEN}`)
        .expect(200);
      const names = (api.body.queues as { name: string }[]).map((q) => q.name);
      expect(names).toEqual(expect.arrayContaining(['evaluate', 'compute', 'maintenance']));
    });
  });

  async function insertAudience(
    key: string,
    options: { memberCount?: number; computedSecondsAgo: number; interval?: number; workspaceId?: string },
  ): Promise<string> {
    const { rows } = await sql.query<{ id: string }>(
      `INSERT INTO audiences (id, workspace_id, key, name, definition_ast, definition_text, refresh_interval_seconds,
                              member_count, last_computed_at, status, updated_at)
       VALUES (gen_random_uuid(), $1, $2, $2, '{}', 'inactive 30 days', $3, $4, now() - make_interval(secs => $5), 'ready', now())
       RETURNING id`,
      [
        options.workspaceId ?? workspace.workspaceId,
        key,
        options.interval ?? 3600,
        options.memberCount ?? 0,
        options.computedSecondsAgo,
      ],
    );
    return rows[0]!.id;
  }

  async function insertDestination(name: string, workspaceId = workspace.workspaceId): Promise<string> {
    const { rows } = await sql.query<{ id: string }>(
      `INSERT INTO destinations (id, workspace_id, type, name, config, updated_at)
       VALUES (gen_random_uuid(), $1, 'webhook', $2, '{}', now()) RETURNING id`,
      [workspaceId, name],
    );
    return rows[0]!.id;
  }

  async function insertDelivery(
    audienceId: string,
    destinationId: string,
    status: string,
    workspaceId = workspace.workspaceId,
  ) {
    const { rows } = await sql.query<{ id: string }>(
      `INSERT INTO audience_transitions (workspace_id, audience_id, profile_id, kind, at, audience_version)
       VALUES ($1, $2, gen_random_uuid(), 'entered', now(), 1) RETURNING id`,
      [workspaceId, audienceId],
    );
    await sql.query(
      `INSERT INTO deliveries (id, workspace_id, destination_id, transition_id, status, updated_at)
       VALUES (gen_random_uuid(), $1, $2, $3, $4, now())`,
      [workspaceId, destinationId, rows[0]!.id, status],
    );
  }
});
