import { identifierKey } from './identifiers';

describe('identifierKey', () => {
  it('keys an identifier by type and value, the same however often it is asked', () => {
    const identifier = { type: 'user_id', value: 'u-1' };
    expect(identifierKey(identifier)).toBe('user_id\u0000u-1');
    expect(identifierKey(identifier)).toBe('user_id\u0000u-1');
    expect(identifierKey({ type: 'anonymous_id', value: 'u-1' })).toBe('anonymous_id\u0000u-1');
  });

  it('keeps the key out of sight: copies, JSON and equality see only type and value', () => {
    const identifier = { type: 'email', value: 'a@example.com' };
    identifierKey(identifier);
    expect(Object.keys(identifier)).toEqual(['type', 'value']);
    expect(JSON.stringify(identifier)).toBe('{"type":"email","value":"a@example.com"}');
    expect(identifier).toStrictEqual({ type: 'email', value: 'a@example.com' });
    // A copy with another value gets its own key, not the original's.
    const other = { ...identifier, value: 'b@example.com' };
    expect(identifierKey(other)).toBe('email\u0000b@example.com');
  });

  it('keys a frozen identifier too', () => {
    expect(identifierKey(Object.freeze({ type: 'user_id', value: 'frozen' }))).toBe('user_id\u0000frozen');
  });
});
