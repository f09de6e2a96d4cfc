import { Client } from 'pg';

import { ManualClock } from '../../src/common/clock';
import { createWorkspace, startTestApp, TEST_ADMIN_TOKEN, TestApp, WorkspaceCredentials } from '../support/app';

const METRICS_TOKEN = 'metrics-scraper-token-0123';

describe('GET /metrics access and cost', () => {
  let app: TestApp;
  let ws: WorkspaceCredentials;
  let sql: Client;
  const clock = new ManualClock();

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api', METRICS_TOKEN, METRICS_COLLECT_INTERVAL_MS: '10000' }, { clock });
    ws = await createWorkspace(app);
    sql = new Client({ connectionString: app.database.url });
    await sql.connect();
  });

  afterAll(async () => {
    await sql.end();
    await app.close();
  });

  const scrape = (token = METRICS_TOKEN) => app.http().get('/metrics').set('authorization', `Bearer ${token}`);
  const collections = (text: string) => Number(/^personae_metrics_collections_total (\d+)$/m.exec(text)?.[1]);

  it('needs the metrics token or the admin token', async () => {
    const anonymous = await app.http().get('/metrics').expect(401);
    expect(anonymous.text).not.toContain(ws.workspaceId);
    await scrape('not-the-metrics-token-000').expect(401);
    await scrape(ws.apiToken).expect(401);
    await scrape(METRICS_TOKEN).expect(200);
    await scrape(TEST_ADMIN_TOKEN).expect(200);
  });

  it('reads shared state once per interval, however many scrape and however often', async () => {
    clock.advance(60_000);
    const before = collections((await scrape().expect(200)).text);
    await sql.query(
      `INSERT INTO audiences (id, workspace_id, key, name, definition_ast, definition_text, member_count, status, updated_at)
       VALUES (gen_random_uuid(), $1, 'scraped', 'scraped', '{}', 'inactive 30 days', 7, 'ready', now())`,
      [ws.workspaceId],
    );
    clock.advance(20_000);
    const concurrent = await Promise.all(Array.from({ length: 40 }, () => scrape().expect(200)));
    const counts = concurrent.map((response) => collections(response.text));
    // Forty concurrent scrapes share one collection.
    expect(new Set(counts)).toEqual(new Set([before + 1]));
    expect(concurrent[0]!.text).toContain(
      `personae_audience_members{workspace="${ws.workspaceId}",audience="scraped"} 7`,
    );

    await sql.query(`UPDATE audiences SET member_count = 8 WHERE key = 'scraped' AND workspace_id = $1`, [
      ws.workspaceId,
    ]);
    clock.advance(5_000);
    const cached = (await scrape().expect(200)).text;
    expect(collections(cached)).toBe(before + 1);
    expect(cached).toContain('audience="scraped"} 7');
    clock.advance(5_000);
    const fresh = (await scrape().expect(200)).text;
    expect(collections(fresh)).toBe(before + 2);
    expect(fresh).toContain('audience="scraped"} 8');
  });
});
