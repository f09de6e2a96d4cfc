/**
 * Preview, explain and computations build an audience's SQL through one function
 * (src/audiences/audience-predicate.ts): what `explain` shows selects exactly whom a computation
 * puts in the audience, also for rows that lack a history start, and a stored definition that no
 * longer validates is refused the same way everywhere.
 */
import { ManualClock } from '../../src/common/clock';
import { ComputeOutcome } from '../../src/membership/membership.service';
import { QueueName } from '../../src/queues/queue-names';
import { DAY, finished, MembershipFixtures } from '../membership/membership-support';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { waitFor } from '../support/wait-for';
import { TestSql } from '../tracking/tracking-support';

const NOW = new Date('2026-06-01T12:00:00.000Z');

describe('one predicate for preview, explain and compute', () => {
  let app: TestApp;
  let sql: TestSql;

  beforeAll(async () => {
    app = await startTestApp({}, { clock: new ManualClock(NOW) });
    sql = await TestSql.connect(app);
  });

  afterAll(async () => {
    await sql.close();
    await app.close();
  });

  function api(ws: WorkspaceCredentials) {
    const auth = `Bearer ${ws.apiToken}`;
    return {
      get: (path: string) => app.http().get(path).set('authorization', auth),
      post: (path: string, body: object = {}) => app.http().post(path).set('authorization', auth).send(body),
    };
  }

  async function computeNow(ws: WorkspaceCredentials, audienceId: string): Promise<ComputeOutcome> {
    const response = await api(ws).post(`/api/audiences/${audienceId}/compute`).expect(202);
    return finished<ComputeOutcome>(app, QueueName.Compute, response.body.jobId);
  }

  it('counts with explain’s SQL exactly the members a computation finds, without historical data', async () => {
    const ws = await createWorkspace(app);
    const f = new MembershipFixtures(sql, ws.workspaceId, ws.sourceId);
    const before = await f.profile();
    const after = await f.profile();
    await f.event(before, 'Signed Up', new Date(NOW.getTime() - 20 * DAY));
    await f.event(after, 'Signed Up', new Date(NOW.getTime() - 5 * DAY));
    // A row without a history start (written before the column was filled, or by hand): the audience
    // sees events from its creation. Explain used to show SQL that saw every event.
    const audience = await f.audience('signed-up-since', 'performed "Signed Up"', { includeHistoricalData: false });
    const createdAt = new Date(NOW.getTime() - 10 * DAY);
    await sql.rows('UPDATE audiences SET created_at = $2 WHERE id = $1', [audience, createdAt.toISOString()]);

    expect(await computeNow(ws, audience)).toMatchObject({ kind: 'computed', memberCount: 1 });
    expect(await f.members(audience)).toEqual([after]);

    const explained = await api(ws).get(`/api/audiences/${audience}/explain`).expect(200);
    expect(explained.body.params).toContain(createdAt.toISOString());
    const [counted] = await sql.rows<{ count: number }>(explained.body.sql, explained.body.params);
    expect(counted?.count).toBe(1);

    // Preview has no saved audience: it reads the definition as if saved now.
    const definition = 'performed "Signed Up"';
    const previewAll = await api(ws).post('/api/audiences/preview', { definition }).expect(200);
    expect(previewAll.body.count).toBe(2);
    const previewNew = await api(ws)
      .post('/api/audiences/preview', { definition, includeHistoricalData: false })
      .expect(200);
    expect(previewNew.body.count).toBe(0);
  });

  it('refuses to explain a stored definition that no longer validates, as computing records it failed', async () => {
    const ws = await createWorkspace(app);
    const f = new MembershipFixtures(sql, ws.workspaceId, ws.sourceId);
    const audience = await f.audience('broken', 'trait plan = "Pro"');
    await sql.rows(`UPDATE audiences SET definition_ast = '{"type":"nonsense"}', version = version + 1 WHERE id = $1`, [
      audience,
    ]);

    const explained = await api(ws).get(`/api/audiences/${audience}/explain`).expect(409);
    expect(explained.body).toMatchObject({
      statusCode: 409,
      error: 'Conflict',
      message: expect.stringMatching(/no longer validates: definition\.type: must be one of/),
      errors: [{ field: 'definition.type', reason: expect.stringMatching(/^must be one of/) }],
    });

    await api(ws).post(`/api/audiences/${audience}/compute`).expect(202);
    await waitFor(async () => (await f.audienceRow(audience)).status === 'failed', { what: 'failed status' });
    expect((await f.audienceRow(audience)).status_reason).toBe(explained.body.message);
  });
});
