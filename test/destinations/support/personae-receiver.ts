import type { AddressInfo } from 'node:net';

import type { TestApp, WorkspaceCredentials } from '../../support/app';

export interface ReceivedProfile {
  id: string;
  traits: Record<string, unknown>;
}

export interface ReceivedEvent {
  messageId: string;
  type: string;
  name: string | null;
  properties: Record<string, unknown>;
}

/** Makes the app's HTTP server listen on loopback, so that it can be a destination's receiver. */
export async function listenOnLoopback(app: TestApp): Promise<{ url: string; close: () => Promise<void> }> {
  const server = app.personae.http!.getHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Reads what a Personae workspace received, through its management API. */
export function receivingWorkspace(app: TestApp, ws: WorkspaceCredentials) {
  const auth = `Bearer ${ws.apiToken}`;
  return {
    async profile(identifier: string): Promise<ReceivedProfile | undefined> {
      const response = await app.http().get('/api/profiles').query({ identifier }).set('authorization', auth);
      if (response.status !== 200) return undefined;
      return (response.body as { items: ReceivedProfile[] }).items[0];
    },
    async events(profileId: string): Promise<ReceivedEvent[]> {
      const response = await app
        .http()
        .get(`/api/profiles/${profileId}/events`)
        .query({ limit: 100 })
        .set('authorization', auth)
        .expect(200);
      return (response.body as { items: ReceivedEvent[] }).items;
    },
  };
}
