import { signUnsubscribeToken, unsubscribeKey, verifyUnsubscribeToken } from './unsubscribe-token';

const claim = {
  workspaceId: '7d0c2a4e-1111-4222-8333-944455556666',
  destinationId: '0e9f8a7b-aaaa-4bbb-8ccc-dddd0000ffff',
  email: 'Ann@Example.com',
};

describe('unsubscribe tokens', () => {
  const key = unsubscribeKey('admin-token-0123456789');

  it('round-trips workspace, destination and the lower-cased address', () => {
    const token = signUnsubscribeToken(key, claim);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(verifyUnsubscribeToken(key, token)).toEqual({ ...claim, email: 'ann@example.com' });
  });

  it('refuses a tampered payload, a forged signature and a token from another key', () => {
    const token = signUnsubscribeToken(key, claim);
    const [payload = '', mac = ''] = token.split('.');
    const other = signUnsubscribeToken(key, { ...claim, email: 'bob@example.com' });
    expect(verifyUnsubscribeToken(key, `${other.split('.')[0]}.${mac}`)).toBeUndefined();
    expect(verifyUnsubscribeToken(key, `${payload}.${'A'.repeat(22)}`)).toBeUndefined();
    expect(verifyUnsubscribeToken(unsubscribeKey('another-admin-token-000'), token)).toBeUndefined();
    expect(verifyUnsubscribeToken(key, 'garbage')).toBeUndefined();
  });
});
