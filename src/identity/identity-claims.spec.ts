import { IdentityClaims } from './identity-claims';

const anon = (value: string) => ({ type: 'anonymous_id', value });

describe('IdentityClaims', () => {
  it('lets one request at a time create an identity of a workspace, and wakes the waiter on release', async () => {
    const claims = new IdentityClaims();
    const first = claims.tryClaim('ws', [anon('a'), anon('b')], claims.mark());
    if (!('release' in first)) throw new Error('the first claim must succeed');

    const second = claims.tryClaim('ws', [anon('b')], claims.mark());
    if (!('busy' in second)) throw new Error('a held identity must be busy');
    expect('release' in claims.tryClaim('other-ws', [anon('b')], claims.mark())).toBe(true);
    expect('release' in claims.tryClaim('ws', [anon('c')], claims.mark())).toBe(true);

    let woken = false;
    const waiting = second.busy.then(() => {
      woken = true;
    });
    await Promise.resolve();
    expect(woken).toBe(false);
    first.release();
    await waiting;
    expect(woken).toBe(true);
  });

  it('sends a request back to read again when an identity it would create was created after its read began', () => {
    const claims = new IdentityClaims();
    const staleRead = claims.mark();
    const creator = claims.tryClaim('ws', [anon('a')], claims.mark());
    if (!('release' in creator)) throw new Error('the claim must succeed');
    creator.release();

    expect('busy' in claims.tryClaim('ws', [anon('a')], staleRead)).toBe(true);
    expect('release' in claims.tryClaim('ws', [anon('a')], claims.mark())).toBe(true);
  });

  it('remembers a bounded number of recent releases, forgetting the oldest first', () => {
    const claims = new IdentityClaims(2);
    const staleRead = claims.mark();
    for (const value of ['a', 'b', 'c']) {
      const claim = claims.tryClaim('ws', [anon(value)], claims.mark());
      if (!('release' in claim)) throw new Error('the claim must succeed');
      claim.release();
    }
    // Looking does not make a release recent: `b` is still the oldest remembered one.
    expect('busy' in claims.tryClaim('ws', [anon('b')], staleRead)).toBe(true);
    const d = claims.tryClaim('ws', [anon('d')], claims.mark());
    if ('release' in d) d.release();
    expect('release' in claims.tryClaim('ws', [anon('a')], staleRead)).toBe(true);
    expect('release' in claims.tryClaim('ws', [anon('b')], staleRead)).toBe(true);
    expect('busy' in claims.tryClaim('ws', [anon('c')], staleRead)).toBe(true);
  });
});
