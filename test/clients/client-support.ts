import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';

import { TestApp } from '../support/app';
import { profileOf, TestSql } from '../tracking/tracking-support';

/** Makes the test app listen on a loopback port, as the real client libraries need; returns its URL. */
export async function listenOnLoopback(app: TestApp): Promise<string> {
  const http = app.personae.http;
  if (!http) throw new Error('the test app serves no HTTP');
  await http.listen(0, '127.0.0.1');
  return `http://127.0.0.1:${(http.getHttpServer().address() as AddressInfo).port}`;
}

/** A file (from node_modules) or a text the static server answers with. */
export type StaticFile = { type: string } & ({ path: string } | { text: string });

export interface StaticServer {
  url: string;
  /** Every path requested, in order. */
  requested: string[];
  close(): Promise<void>;
}

/** Serves the client libraries' npm bundles and a test page from loopback: no vendor CDN is needed. */
export async function startStaticServer(files: Record<string, StaticFile>): Promise<StaticServer> {
  const requested: string[] = [];
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    requested.push(path);
    const file = files[path];
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    const body = 'path' in file ? readFile(file.path) : Promise.resolve(file.text);
    body.then(
      (content) => response.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(content),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requested,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface StoredEvent {
  type: string;
  name: string | null;
  user_id: string | null;
  anonymous_id: string | null;
  properties: Record<string, unknown>;
  traits: Record<string, unknown> | null;
  context: { library?: { name?: string }; traits?: unknown };
  profile_id: string;
}

export async function storedEvents(sql: TestSql, workspaceId: string): Promise<StoredEvent[]> {
  return sql.rows<StoredEvent>(
    `SELECT type, name, user_id, anonymous_id, properties, traits, context, profile_id
       FROM events WHERE workspace_id = $1 ORDER BY timestamp, id`,
    [workspaceId],
  );
}

/** What every client test sends, in the client's own words: see expectScenarioStored. */
export const SCENARIO = {
  userId: 'user-1',
  traits: { email: 'Ada@Example.com', plan: 'pro', seats: 3 },
  page: { category: 'Docs', name: 'Pricing', properties: { plan: 'pro' } },
  track: { event: 'Order Completed', properties: { revenue: 42.5, currency: 'EUR', items: [{ sku: 'A-1' }] } },
  group: { groupId: 'acme', traits: { name: 'Acme Inc', employees: 12 } },
};

/**
 * Asserts that Personae stored the scenario unchanged: a page viewed before identify (anonymous),
 * an identify with traits, a track with properties and a group call, all on one profile that holds
 * the identify's traits and the user id, email and anonymous id as identities.
 */
export async function expectScenarioStored(
  sql: TestSql,
  workspaceId: string,
  anonymousId: string,
  library: string,
): Promise<StoredEvent[]> {
  const events = await storedEvents(sql, workspaceId);
  const byType = (type: string) => events.filter((e) => e.type === type);
  expect(events.map((e) => e.type).sort()).toEqual(['group', 'identify', 'page', 'track']);

  const [page] = byType('page');
  expect(page).toMatchObject({ name: SCENARIO.page.name, user_id: null, anonymous_id: anonymousId });
  expect(page?.properties).toMatchObject({ ...SCENARIO.page.properties, category: SCENARIO.page.category });

  const [identify] = byType('identify');
  expect(identify).toMatchObject({ user_id: SCENARIO.userId, anonymous_id: anonymousId });
  expect(identify?.traits).toEqual(SCENARIO.traits);

  const [track] = byType('track');
  expect(track).toMatchObject({ name: SCENARIO.track.event, user_id: SCENARIO.userId });
  expect(track?.properties).toEqual(SCENARIO.track.properties);

  for (const event of events) expect(event.context.library?.name).toBe(library);

  const profileId = await profileOf(sql, workspaceId, 'user_id', SCENARIO.userId);
  expect(profileId).toBeDefined();
  expect(await profileOf(sql, workspaceId, 'email', SCENARIO.traits.email.toLowerCase())).toBe(profileId);
  expect(await profileOf(sql, workspaceId, 'anonymous_id', anonymousId)).toBe(profileId);
  expect(new Set(events.map((e) => e.profile_id))).toEqual(new Set([profileId]));

  const [profile] = await sql.rows<{ traits: unknown }>('SELECT traits FROM profiles WHERE id = $1', [profileId]);
  expect(profile?.traits).toEqual(SCENARIO.traits);
  const [group] = await sql.rows<{ traits: unknown }>(
    'SELECT traits FROM groups WHERE workspace_id = $1 AND group_id = $2',
    [workspaceId, SCENARIO.group.groupId],
  );
  expect(group?.traits).toEqual(SCENARIO.group.traits);
  return events;
}
