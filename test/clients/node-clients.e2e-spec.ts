import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';

import { createWorkspace, startTestApp, TestApp } from '../support/app';
import { profileOf, TestSql } from '../tracking/tracking-support';
import { expectScenarioStored, listenOnLoopback, SCENARIO } from './client-support';

describe('node client libraries', () => {
  let app: TestApp | undefined;
  let sql: TestSql | undefined;
  let dataPlaneUrl: string;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' });
    sql = await TestSql.connect(app);
    dataPlaneUrl = await listenOnLoopback(app);
  });
  afterAll(async () => {
    try {
      await sql?.close();
    } finally {
      await app?.close();
    }
  });

  it('@segment/analytics-node delivers the scenario, stored unchanged on one profile', async () => {
    const ws = await createWorkspace(app!, 'Segment node');
    const analytics = new SegmentAnalytics({ writeKey: ws.writeKey, host: dataPlaneUrl, maxRetries: 0 });
    const errors: unknown[] = [];
    analytics.on('error', (error) => errors.push(error));
    const anonymousId = 'segment-node-anon';

    analytics.page({ anonymousId, ...SCENARIO.page });
    analytics.identify({ anonymousId, userId: SCENARIO.userId, traits: SCENARIO.traits });
    analytics.track({ anonymousId, userId: SCENARIO.userId, ...SCENARIO.track });
    analytics.group({ anonymousId, userId: SCENARIO.userId, ...SCENARIO.group });
    await analytics.closeAndFlush();

    expect(errors).toEqual([]);
    await expectScenarioStored(sql!, ws.workspaceId, anonymousId, '@segment/analytics-node');
  });

  it('@rudderstack/rudder-sdk-node v3 delivers with its default options (gzipped, labelled as a form)', async () => {
    const ws = await createWorkspace(app!, 'RudderStack node');
    // Default options but the data plane: gzip on, batches to /v1/batch.
    const client = new RudderAnalytics(ws.writeKey, { dataPlaneUrl });
    const anonymousId = 'node-anon-1';

    client.page({ anonymousId, ...SCENARIO.page });
    client.identify({ anonymousId, userId: SCENARIO.userId, traits: SCENARIO.traits });
    client.track({ anonymousId, userId: SCENARIO.userId, ...SCENARIO.track });
    client.group({ anonymousId, userId: SCENARIO.userId, ...SCENARIO.group });
    // The client sends its first message on its own, the rest on flush; a refused batch rejects.
    await client.flush();
    await client.flush();

    await expectScenarioStored(sql!, ws.workspaceId, anonymousId, 'analytics-node');
  });

  it('@rudderstack/rudder-sdk-node v3 delivers alias and screen calls', async () => {
    const ws = await createWorkspace(app!, 'RudderStack node alias');
    const client = new RudderAnalytics(ws.writeKey, { dataPlaneUrl });
    client.screen({ anonymousId: 'phone-anon', name: 'Home', properties: { tab: 'feed' } });
    client.alias({ userId: 'phone-user', previousId: 'phone-anon' });
    await client.flush();
    await client.flush();

    const rows = await sql!.rows<{ type: string; name: string | null; properties: unknown }>(
      'SELECT type, name, properties FROM events WHERE workspace_id = $1 ORDER BY type',
      [ws.workspaceId],
    );
    expect(rows).toEqual([
      { type: 'alias', name: null, properties: { previousId: 'phone-anon' } },
      { type: 'screen', name: 'Home', properties: { tab: 'feed' } },
    ]);
    const profileId = await profileOf(sql!, ws.workspaceId, 'user_id', 'phone-user');
    expect(await profileOf(sql!, ws.workspaceId, 'anonymous_id', 'phone-anon')).toBe(profileId);
  });
});
