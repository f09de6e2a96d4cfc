import { createWorkspace, startTestApp } from '../support/app';
import { basicAuth, TestSql } from './tracking-support';

/** The context.ip stored for a call that claims X-Forwarded-For: 203.0.113.9 (supertest connects over loopback). */
async function storedIp(trustProxy: string | undefined): Promise<string> {
  const app = await startTestApp({ ROLE: 'api', ...(trustProxy === undefined ? {} : { TRUST_PROXY: trustProxy }) });
  const sql = await TestSql.connect(app);
  try {
    const ws = await createWorkspace(app);
    await app
      .http()
      .post('/v1/track')
      .set('authorization', basicAuth(ws.writeKey))
      .set('x-forwarded-for', '198.51.100.7, 203.0.113.9')
      .send({ userId: 'proxied', event: 'E', messageId: 'proxied-1' })
      .expect(200);
    const [row] = await sql.rows<{ ip: string }>(
      "SELECT context->>'ip' AS ip FROM events WHERE message_id = 'proxied-1'",
    );
    return row?.ip ?? '';
  } finally {
    await sql.close();
    await app.close();
  }
}

describe('TRUST_PROXY', () => {
  it('believes no X-Forwarded-For by default', async () => {
    expect(await storedIp(undefined)).toMatch(/127\.0\.0\.1/);
  });

  it('believes a trusted proxy by address or range, and only as many hops as trusted', async () => {
    // The client is the nearest address that is not a trusted proxy.
    expect(await storedIp('127.0.0.1/8,::1')).toBe('203.0.113.9');
    expect(await storedIp('loopback')).toBe('203.0.113.9');
    expect(await storedIp('10.0.0.0/8')).toMatch(/127\.0\.0\.1/);
    expect(await storedIp('1')).toBe('203.0.113.9');
    expect(await storedIp('true')).toBe('198.51.100.7');
  });
});
