import { join } from 'node:path';

import { createWorkspace, startTestApp, TestApp } from '../support/app';
import { waitFor } from '../support/wait-for';
import { TestSql } from '../tracking/tracking-support';
import { describeInChromium, launchChromium, TestBrowser } from './chromium';
import {
  expectScenarioStored,
  listenOnLoopback,
  SCENARIO,
  startStaticServer,
  StaticServer,
  storedEvents,
} from './client-support';

const NODE_MODULES = join(__dirname, '..', '..', 'node_modules');
/** RudderStack's npm build with its plugins bundled in: no plugin is loaded from its CDN. */
const RUDDERSTACK_BUNDLE = join(NODE_MODULES, '@rudderstack/analytics-js/dist/npm/modern/bundled/umd/index.js');
const SEGMENT_BUNDLE = join(NODE_MODULES, '@segment/analytics-next/dist/umd/index.js');
const JS = 'text/javascript; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

/** A shop page that runs SCENARIO through the library; writeKey and the API's URL come in its query string. */
function shopPage(bundle: string, script: string): string {
  return `<!doctype html>
<html><head><title>Shop</title><script src="${bundle}"></script></head>
<body><script>
const params = new URLSearchParams(location.search);
const writeKey = params.get('writeKey');
const apiUrl = params.get('api');
const scenario = ${JSON.stringify(SCENARIO)};
${script}
</script></body></html>`;
}

/** As docs/tracking.md says: the source config is given inline, so RudderStack's control plane is never asked. */
const RUDDERSTACK_SCENARIO = `
const rudder = new rudderanalytics.RudderAnalytics();
rudder.load(writeKey, apiUrl, {
  getSourceConfig: () => ({
    source: { id: 'personae', name: 'Personae', workspaceId: 'personae', enabled: true, config: {}, destinations: [] },
  }),
});
// Before identify: RudderStack sends "userId": "" with the anonymousId.
rudder.page(scenario.page.category, scenario.page.name, scenario.page.properties);
// RudderStack puts the traits in context.traits only.
rudder.identify(scenario.userId, scenario.traits);
rudder.track(scenario.track.event, scenario.track.properties);
rudder.group(scenario.group.groupId, scenario.group.traits);
window.anonymousId = () => rudder.getAnonymousId();
`;

/** As docs/tracking.md says: settings inline (cdnSettings) and apiHost pointing at Personae. */
const SEGMENT_SCENARIO = `
const apiHost = apiUrl.replace(/^https?:\\/\\//, '') + '/v1';
const protocol = apiUrl.startsWith('https:') ? 'https' : 'http';
const analytics = AnalyticsNext.AnalyticsBrowser.load(
  { writeKey, cdnSettings: { integrations: { 'Segment.io': { apiKey: writeKey, apiHost, protocol } } } },
  { integrations: { 'Segment.io': { apiHost, protocol } } },
);
window.scenario = (async () => {
  await analytics.page(scenario.page.category, scenario.page.name, scenario.page.properties);
  await analytics.identify(scenario.userId, scenario.traits);
  await analytics.track(scenario.track.event, scenario.track.properties);
  await analytics.group(scenario.group.groupId, scenario.group.traits);
  const [instance] = await analytics;
  return instance.user().anonymousId();
})();
`;

describeInChromium('browser client libraries in headless Chromium', () => {
  let app: TestApp | undefined;
  let sql: TestSql | undefined;
  let statics: StaticServer | undefined;
  let browser: TestBrowser | undefined;
  let apiUrl: string;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' });
    sql = await TestSql.connect(app);
    apiUrl = await listenOnLoopback(app);
    // Another origin than the API's, so that every call is a cross-origin request as on a real site.
    statics = await startStaticServer({
      '/rudderstack.js': { path: RUDDERSTACK_BUNDLE, type: JS },
      '/segment.js': { path: SEGMENT_BUNDLE, type: JS },
      '/rudderstack.html': { text: shopPage('/rudderstack.js', RUDDERSTACK_SCENARIO), type: HTML },
      '/segment.html': { text: shopPage('/segment.js', SEGMENT_SCENARIO), type: HTML },
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      try {
        await statics?.close();
        await sql?.close();
      } finally {
        await app?.close();
      }
    }
  });

  async function open(page: string, writeKey: string): Promise<TestBrowser> {
    if (!browser || !statics) throw new Error('not started');
    const query = new URLSearchParams({ writeKey, api: apiUrl });
    await browser.page.goto(`${statics.url}${page}?${query.toString()}`);
    return browser;
  }

  async function fourEventsStored(workspaceId: string): Promise<void> {
    await waitFor(async () => (await storedEvents(sql!, workspaceId)).length >= 4, {
      what: 'the four events of the scenario to be stored',
      timeoutMs: 30_000,
    });
  }

  it('RudderStack JavaScript SDK v3 delivers page, identify (context.traits), track and group', async () => {
    const ws = await createWorkspace(app!, 'RudderStack JS');
    const { page, outside, errors } = await open('/rudderstack.html', ws.writeKey);
    await fourEventsStored(ws.workspaceId);
    const anonymousId = await page.evaluate<string>('window.anonymousId()');

    const events = await expectScenarioStored(sql!, ws.workspaceId, anonymousId, 'RudderLabs JavaScript SDK');
    // The identify came with its traits in context.traits only.
    expect(events.find((e) => e.type === 'identify')?.context.traits).toEqual(SCENARIO.traits);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('Segment analytics.js (@segment/analytics-next) delivers page, identify, track and group', async () => {
    const ws = await createWorkspace(app!, 'Segment analytics.js');
    const { page, outside, errors } = await open('/segment.html', ws.writeKey);
    const anonymousId = await page.evaluate<string>('window.scenario');
    await fourEventsStored(ws.workspaceId);

    await expectScenarioStored(sql!, ws.workspaceId, anonymousId, 'analytics.js');
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });
});
