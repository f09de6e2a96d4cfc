/**
 * The interactive budget (src/database/interactive-database.ts) and the computation time limit.
 * A slow query is made deterministic by holding an ACCESS EXCLUSIVE lock on audience_members from
 * another connection: a preview of `in audience "vip"` (or a computation) waits on that lock for
 * as long as the test wants, inside its statement, exactly like a query that takes that long.
 */
import { Client } from 'pg';

import { INTERACTIVE_APPLICATION_NAME } from '../../src/database/interactive-database';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { waitFor } from '../support/wait-for';

interface Lock {
  release(): Promise<void>;
}

/** Holds ACCESS EXCLUSIVE on audience_members until released. */
async function lockMembers(url: string): Promise<Lock> {
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE audience_members IN ACCESS EXCLUSIVE MODE');
  return {
    release: async () => {
      await client.query('ROLLBACK');
      await client.end();
    },
  };
}

/** Statements the interactive pool is running now (idle connections do not count). */
async function activeInteractive(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = $1 AND state = 'active'`,
      [INTERACTIVE_APPLICATION_NAME],
    );
    return rows[0]?.n ?? -1;
  } finally {
    await client.end();
  }
}

function api(app: TestApp, workspace: WorkspaceCredentials) {
  return {
    post: (path: string, body: object) =>
      app.http().post(path).set('authorization', `Bearer ${workspace.apiToken}`).send(body),
    get: (path: string) => app.http().get(path).set('authorization', `Bearer ${workspace.apiToken}`),
  };
}

async function createVip(app: TestApp, workspace: WorkspaceCredentials): Promise<string> {
  const response = await api(app, workspace)
    .post('/api/audiences', { key: 'vip', name: 'VIP', definition: 'trait plan = "vip"' })
    .expect(201);
  return (response.body as { id: string }).id;
}

const SLOW_PREVIEW = { definition: 'in audience "vip"' };

describe('interactive queries past their time limit', () => {
  let app: TestApp;
  let ws: WorkspaceCredentials;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api', INTERACTIVE_STATEMENT_TIMEOUT_MS: '300' });
    ws = await createWorkspace(app);
    await createVip(app, ws);
  });
  afterAll(() => app?.close());

  it('answers 422 naming the limit and what to narrow, and frees the connection', async () => {
    const lock = await lockMembers(app.database.url);
    try {
      const response = await api(app, ws).post('/api/audiences/preview', SLOW_PREVIEW).timeout(10_000);
      expect(response.status).toBe(422);
      expect(response.body).toEqual({
        statusCode: 422,
        error: 'Unprocessable Entity',
        message: expect.stringMatching(/^definition: .*300 ms.*INTERACTIVE_STATEMENT_TIMEOUT_MS/),
        errors: [{ field: 'definition', reason: expect.stringContaining('narrow it') }],
      });
      expect(await activeInteractive(app.database.url)).toBe(0);
    } finally {
      await lock.release();
    }
    const after = await api(app, ws).post('/api/audiences/preview', SLOW_PREVIEW).expect(200);
    expect(after.body).toMatchObject({ count: 0, sample: [] });
  });

  it('does the same for a funnel report, naming its steps', async () => {
    const lock = await lockMembers(app.database.url);
    try {
      // A report does not read audience_members; the lock on events stands in for a slow scan.
      const events = new Client({ connectionString: app.database.url });
      await events.connect();
      try {
        await events.query('BEGIN');
        await events.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
        const response = await api(app, ws)
          .post('/api/funnels/report', {
            steps: [{ event: 'Signed Up' }, { event: 'Order Completed' }],
            from: '2026-01-01',
            to: '2026-02-01',
          })
          .timeout(10_000);
        expect(response.status).toBe(422);
        expect(response.body.errors).toEqual([{ field: 'steps', reason: expect.stringContaining('300 ms') }]);
      } finally {
        await events.query('ROLLBACK');
        await events.end();
      }
    } finally {
      await lock.release();
    }
  });
});

describe('interactive queries of a client that disconnects', () => {
  let app: TestApp;
  let ws: WorkspaceCredentials;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api', INTERACTIVE_STATEMENT_TIMEOUT_MS: '120000' });
    ws = await createWorkspace(app);
    await createVip(app, ws);
  });
  afterAll(() => app?.close());

  it('are cancelled instead of running on for nobody', async () => {
    const lock = await lockMembers(app.database.url);
    try {
      const request = api(app, ws).post('/api/audiences/preview', SLOW_PREVIEW);
      request.end(() => undefined);
      await waitFor(async () => (await activeInteractive(app.database.url)) === 1, {
        what: 'the preview to be running',
      });
      request.abort();
      // Without cancellation the statement would wait on the lock for its whole 120 s limit.
      await waitFor(async () => (await activeInteractive(app.database.url)) === 0, {
        what: 'the abandoned preview to be cancelled',
      });
    } finally {
      await lock.release();
    }
    await api(app, ws).post('/api/audiences/preview', SLOW_PREVIEW).expect(200);
  });
});

describe('ingest, health and other workspaces while one workspace saturates interactive queries', () => {
  const PREVIEWS = 12; // more than the connections ingest and workers use (DATABASE_POOL_SIZE 10)
  let app: TestApp;
  let busy: WorkspaceCredentials;
  let ingesting: WorkspaceCredentials;
  let other: WorkspaceCredentials;

  beforeAll(async () => {
    app = await startTestApp({
      ROLE: 'api',
      INTERACTIVE_POOL_SIZE: '2',
      INTERACTIVE_QUERIES_PER_WORKSPACE: '1',
      INTERACTIVE_STATEMENT_TIMEOUT_MS: '30000',
    });
    busy = await createWorkspace(app, 'Busy');
    ingesting = await createWorkspace(app, 'Ingesting');
    other = await createWorkspace(app, 'Other');
    await createVip(app, busy);
  });
  afterAll(() => app?.close());

  it('keep working', async () => {
    const lock = await lockMembers(app.database.url);
    const previews = Array.from({ length: PREVIEWS }, () =>
      api(app, busy)
        .post('/api/audiences/preview', SLOW_PREVIEW)
        .then((response) => response.status),
    );
    try {
      await waitFor(async () => (await activeInteractive(app.database.url)) === 1, {
        what: 'the busy workspace to hold its interactive slot',
      });

      const batch = {
        batch: [
          { type: 'track', event: 'Signed Up', userId: 'u1', messageId: 'm1' },
          { type: 'identify', userId: 'u1', traits: { plan: 'pro' }, messageId: 'm2' },
        ],
      };
      await app
        .http()
        .post('/v1/batch')
        .auth(ingesting.writeKey, '')
        .send(batch)
        .timeout(10_000)
        .expect(200, { success: true });
      await app.http().get('/health').timeout(10_000).expect(200);
      const preview = await api(app, other)
        .post('/api/audiences/preview', { definition: 'trait plan = "pro"' })
        .timeout(10_000)
        .expect(200);
      expect(preview.body.count).toBe(0);
      const events = await stored(app.database.url, ingesting.workspaceId);
      expect(events).toBe(2);
    } finally {
      await lock.release();
    }
    const statuses = await Promise.all(previews);
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
  });
});

describe('full computations past their time limit', () => {
  let app: TestApp;
  let ws: WorkspaceCredentials;

  beforeAll(async () => {
    app = await startTestApp({ COMPUTE_STATEMENT_TIMEOUT_MS: '300' });
    ws = await createWorkspace(app);
  });
  afterAll(() => app?.close());

  it('end failed, with the limit as the reason, and compute again once possible', async () => {
    const lock = await lockMembers(app.database.url);
    let id: string;
    try {
      id = await createVip(app, ws);
      const failed = await waitFor(
        async () => {
          const body = (await api(app, ws).get(`/api/audiences/${id}`).expect(200)).body as {
            status: string;
            statusReason: string | null;
          };
          return body.status === 'failed' ? body : undefined;
        },
        { what: 'the computation to fail' },
      );
      expect(failed.statusReason).toMatch(/took longer than the 0\.3 s limit \(COMPUTE_STATEMENT_TIMEOUT_MS\)/);
    } finally {
      await lock.release();
    }
    await api(app, ws).post(`/api/audiences/${id}/compute`, {}).expect(202);
    await waitFor(
      async () => ((await api(app, ws).get(`/api/audiences/${id}`)).body as { status: string }).status === 'ready',
      { what: 'the audience to compute once the lock is gone' },
    );
  });
});

async function stored(url: string, workspaceId: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM events WHERE workspace_id = $1',
      [workspaceId],
    );
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}
