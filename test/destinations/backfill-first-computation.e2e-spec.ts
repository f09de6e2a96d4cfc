/**
 * Connecting a destination with backfill while the audience's first computation is still running:
 * the backfill waits for the computation (it takes the audience's lock, which a computation holds
 * until it commits) instead of reading an empty membership and missing its members.
 */
import { Client } from 'pg';

import { createWorkspace, startTestApp, TestApp } from '../support/app';
import { waitFor } from '../support/wait-for';
import { TestSql } from '../tracking/tracking-support';

describe('backfill during a first computation', () => {
  let app: TestApp;
  let sql: TestSql;

  beforeAll(async () => {
    app = await startTestApp({ SMTP_URL: 'smtp://127.0.0.1:9' });
    sql = await TestSql.connect(app);
  });

  afterAll(async () => {
    await sql.close();
    await app.close();
  });

  it('sends the members the running computation writes', async () => {
    const ws = await createWorkspace(app);
    const auth = `Bearer ${ws.apiToken}`;
    const [profile] = await sql.rows<{ id: string }>(
      `INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
       VALUES (gen_random_uuid(), $1, '{"email":"ann@example.test"}', now(), now()) RETURNING id`,
      [ws.workspaceId],
    );
    // An audience whose first computation is under way (no job: this test plays the computation).
    const [audience] = await sql.rows<{ id: string }>(
      `INSERT INTO audiences (id, workspace_id, key, name, definition_ast, definition_text, status, updated_at)
       VALUES (gen_random_uuid(), $1, 'first', 'first', '{"type":"trait","path":["email"],"op":"exists"}',
               'trait email exists', 'computing', now()) RETURNING id`,
      [ws.workspaceId],
    );
    const destination = await app
      .http()
      .post('/api/destinations')
      .set('authorization', auth)
      .send({ type: 'email', name: 'Email', config: { from: 'a@example.test', subject: 'Hi', text: 'Hi' } })
      .expect(201);

    const computation = new Client({ connectionString: app.database.url });
    await computation.connect();
    try {
      await computation.query('BEGIN');
      await computation.query(`SELECT pg_advisory_xact_lock(${0x6d656d62}::int, hashtext($1))`, [audience!.id]);
      await computation.query(
        `WITH m AS (INSERT INTO audience_members (audience_id, profile_id, entered_at) VALUES ($1, $2, now()) RETURNING 1)
         INSERT INTO audience_transitions (workspace_id, audience_id, profile_id, kind, at, audience_version)
         VALUES ($3, $1, $2, 'entered', now() - interval '1 second', 1)`,
        [audience!.id, profile!.id, ws.workspaceId],
      );

      const connecting = app
        .http()
        .post(`/api/audiences/${audience!.id}/destinations`)
        .set('authorization', auth)
        .send({ destinationId: destination.body.id, backfill: true })
        .then((response) => response);
      // The connect waits for the computation's lock.
      await waitFor(
        async () =>
          (
            await sql.rows<{ waiting: number }>(
              `SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
            )
          )[0]!.waiting > 0,
        { what: 'the connect waiting for the computation' },
      );
      await computation.query('COMMIT');

      const response = await connecting;
      expect(response.status).toBe(201);
      expect(response.body.backfilled).toBe(1);
      const deliveries = await sql.rows<{ count: number }>(
        'SELECT count(*)::int AS count FROM deliveries WHERE destination_id = $1',
        [destination.body.id],
      );
      expect(deliveries[0]!.count).toBe(1);
    } finally {
      await computation.end();
    }
  });
});
