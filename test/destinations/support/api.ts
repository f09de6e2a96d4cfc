import type { TestApp } from '../../support/app';

/** Thin helpers over the destinations API, as a user would call it. */
export function destinationsApi(app: TestApp, apiToken: string) {
  const auth = `Bearer ${apiToken}`;
  return {
    async createEmail(config: Record<string, unknown>, rateLimitPerSecond?: number): Promise<string> {
      const response = await app
        .http()
        .post('/api/destinations')
        .set('authorization', auth)
        .send({ type: 'email', name: 'Email', config, ...(rateLimitPerSecond && { rateLimitPerSecond }) });
      if (response.status !== 201)
        throw new Error(`create email destination: ${response.status} ${JSON.stringify(response.body)}`);
      return (response.body as { id: string }).id;
    },
    async createWebhook(config: Record<string, unknown>): Promise<string> {
      const response = await app
        .http()
        .post('/api/destinations')
        .set('authorization', auth)
        .send({ type: 'webhook', name: 'Hook', config });
      if (response.status !== 201)
        throw new Error(`create webhook destination: ${response.status} ${JSON.stringify(response.body)}`);
      return (response.body as { id: string }).id;
    },
    async connect(audienceId: string, destinationId: string, backfill = false, send = 'entered') {
      const response = await app
        .http()
        .post(`/api/audiences/${audienceId}/destinations`)
        .set('authorization', auth)
        .send({ destinationId, backfill, send });
      if (response.status !== 201) throw new Error(`connect: ${response.status} ${JSON.stringify(response.body)}`);
      return response.body as { id: string; backfilled: number };
    },
    get: (path: string) => app.http().get(path).set('authorization', auth),
    post: (path: string) => app.http().post(path).set('authorization', auth),
    patch: (path: string) => app.http().patch(path).set('authorization', auth),
    delete: (path: string) => app.http().delete(path).set('authorization', auth),
  };
}
