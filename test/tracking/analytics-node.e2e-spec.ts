import { AddressInfo } from 'node:net';

import { Analytics } from '@segment/analytics-node';

import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { profileOf, TestSql } from './tracking-support';

describe('the official @segment/analytics-node client', () => {
  let app: TestApp;
  let ws: WorkspaceCredentials;
  let sql: TestSql;
  let host: string;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' });
    ws = await createWorkspace(app);
    sql = await TestSql.connect(app);
    const http = app.personae.http;
    if (!http) throw new Error('no HTTP');
    await http.listen(0, '127.0.0.1');
    host = `http://127.0.0.1:${(http.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await sql.close();
    await app.close();
  });

  it('delivers every call type, which Personae stores and resolves to one profile', async () => {
    const analytics = new Analytics({ writeKey: ws.writeKey, host, flushAt: 3, maxEventsInBatch: 3, maxRetries: 0 });
    const errors: unknown[] = [];
    analytics.on('error', (error) => errors.push(error));

    analytics.identify({
      anonymousId: 'node-anon',
      userId: 'node-user',
      traits: { email: 'Node@Example.com', plan: 'pro' },
    });
    analytics.track({ userId: 'node-user', event: 'Order Completed', properties: { revenue: 42 } });
    analytics.page({ anonymousId: 'node-anon', name: 'Pricing', properties: { path: '/pricing' } });
    analytics.screen({ userId: 'node-user', name: 'Home' });
    analytics.group({ userId: 'node-user', groupId: 'acme', traits: { name: 'Acme Inc' } });
    analytics.alias({ userId: 'node-user', previousId: 'node-old-anon' });
    analytics.track({ anonymousId: 'node-old-anon', event: 'After Alias' });
    await analytics.closeAndFlush();

    expect(errors).toEqual([]);
    const events = await sql.rows<{
      type: string;
      name: string | null;
      context: { library?: { name?: string } };
      profile_id: string;
    }>('SELECT type, name, context, profile_id FROM events WHERE workspace_id = $1 ORDER BY id', [ws.workspaceId]);
    expect(events.map((e) => e.type).sort()).toEqual([
      'alias',
      'group',
      'identify',
      'page',
      'screen',
      'track',
      'track',
    ]);
    for (const event of events) expect(event.context.library?.name).toBe('@segment/analytics-node');

    const profileId = await profileOf(sql, ws.workspaceId, 'user_id', 'node-user');
    expect(new Set(events.map((e) => e.profile_id))).toEqual(new Set([profileId]));
    expect(await profileOf(sql, ws.workspaceId, 'email', 'node@example.com')).toBe(profileId);
    expect(await profileOf(sql, ws.workspaceId, 'anonymous_id', 'node-old-anon')).toBe(profileId);
    const [group] = await sql.rows<{ traits: unknown }>("SELECT traits FROM groups WHERE group_id = 'acme'");
    expect(group?.traits).toEqual({ name: 'Acme Inc' });
  });
});
