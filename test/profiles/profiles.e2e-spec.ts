import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { basicAuth, profileOf, TestSql } from '../tracking/tracking-support';

describe('profiles API', () => {
  let app: TestApp;
  let sql: TestSql;
  let ws: WorkspaceCredentials;
  let other: WorkspaceCredentials;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' });
    sql = await TestSql.connect(app);
    ws = await createWorkspace(app, 'Mine');
    other = await createWorkspace(app, 'Theirs');
    await sql.setWorkspaceSettings(ws.workspaceId, {
      identity: { extraIdentifiers: [{ type: 'phone', trait: 'phone' }] },
    });
  });
  afterAll(async () => {
    await sql.close();
    await app.close();
  });

  const send = async (...batch: object[]): Promise<void> => {
    await app.http().post('/v1/batch').set('authorization', basicAuth(ws.writeKey)).send({ batch }).expect(200);
  };
  const get = (path: string, token = ws.apiToken) => app.http().get(path).set('authorization', `Bearer ${token}`);

  it.each([
    ['email (any case)', 'email:Grace@Example.com'],
    ['user_id', 'user_id:grace'],
    ['anonymous_id', 'anonymous_id:grace-laptop'],
    ['an extra identifier type', 'phone:+15550100'],
  ])('finds a profile by %s', async (_, identifier) => {
    await send({
      type: 'identify',
      userId: 'grace',
      anonymousId: 'grace-laptop',
      traits: { email: 'grace@example.com', phone: '+15550100', name: 'Grace' },
      messageId: 'grace-identify',
    });
    const response = await get(`/api/profiles?identifier=${encodeURIComponent(identifier)}`).expect(200);
    expect(response.body.items).toHaveLength(1);
    expect(response.body.items[0]).toMatchObject({ traits: { name: 'Grace' } });
  });

  it('answers an empty list for an unknown identifier and 400 for a malformed one', async () => {
    expect((await get('/api/profiles?identifier=email:nobody@example.com').expect(200)).body).toEqual({
      items: [],
      nextCursor: null,
    });
    const bad = await get('/api/profiles?identifier=nonsense').expect(400);
    expect(bad.body.errors).toEqual([{ field: 'identifier', reason: 'must look like type:value, e.g. email:a@b.com' }]);
    await get('/api/profiles').expect(400);
  });

  it('shows traits, identities, merge history, groups and audience memberships', async () => {
    await send({
      type: 'identify',
      anonymousId: 'linus-phone',
      traits: { plan: 'free' },
      timestamp: '2024-01-01T00:00:00Z',
    });
    await send({ type: 'identify', userId: 'linus', traits: { plan: 'pro' }, timestamp: '2024-02-01T00:00:00Z' });
    await send({
      type: 'group',
      userId: 'linus',
      groupId: 'kernel',
      traits: { name: 'Kernel' },
      timestamp: '2024-02-02T00:00:00Z',
    });
    const survivor = await profileOf(sql, ws.workspaceId, 'anonymous_id', 'linus-phone');
    const merged = await profileOf(sql, ws.workspaceId, 'user_id', 'linus');
    await send({
      type: 'track',
      userId: 'linus',
      anonymousId: 'linus-phone',
      event: 'Merge',
      timestamp: '2024-03-01T00:00:00Z',
    });

    const [audience] = await sql.rows<{ id: string }>(
      `INSERT INTO audiences (id, workspace_id, key, name, definition_ast, definition_text)
       VALUES (gen_random_uuid(), $1, 'pro-users', 'Pro users', '{}', 'trait plan = "pro"') RETURNING id`,
      [ws.workspaceId],
    );
    await sql.rows(
      `INSERT INTO audience_members (audience_id, profile_id, entered_at) VALUES ($1, $2, '2024-03-02T00:00:00Z')`,
      [audience?.id, survivor],
    );

    const response = await get(`/api/profiles/${survivor}`).expect(200);
    expect(response.body).toEqual({
      id: survivor,
      traits: { plan: 'pro' },
      computedTraits: {},
      firstSeenAt: '2024-01-01T00:00:00.000Z',
      lastSeenAt: '2024-03-01T00:00:00.000Z',
      createdAt: expect.any(String),
      mergeCount: 1,
      identities: [
        { type: 'anonymous_id', value: 'linus-phone', createdAt: expect.any(String) },
        { type: 'user_id', value: 'linus', createdAt: expect.any(String) },
      ],
      merges: [
        {
          fromProfileId: merged,
          intoProfileId: survivor,
          identifiers: [
            { type: 'user_id', value: 'linus' },
            { type: 'anonymous_id', value: 'linus-phone' },
          ],
          at: expect.any(String),
        },
      ],
      memberships: [{ audienceId: audience?.id, audienceKey: 'pro-users', enteredAt: '2024-03-02T00:00:00.000Z' }],
      groups: [{ groupId: 'kernel', traits: { name: 'Kernel' }, joinedAt: expect.any(String) }],
    });

    const viaMerged = await get(`/api/profiles/${merged}`).expect(200);
    expect(viaMerged.body).toMatchObject({ id: survivor, resolvedFrom: merged });
  });

  it('pages events newest first with a cursor', async () => {
    const batch = Array.from({ length: 25 }, (_, i) => ({
      type: 'track',
      userId: 'pager',
      event: `Step ${i}`,
      timestamp: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString(),
    }));
    await send(...batch);
    const id = await profileOf(sql, ws.workspaceId, 'user_id', 'pager');
    const names: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=10&cursor=${cursor}` : '?limit=10';
      const page = await get(`/api/profiles/${id}/events${query}`).expect(200);
      names.push(...(page.body.items as { name: string }[]).map((e) => e.name));
      cursor = page.body.nextCursor as string | null;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(names).toEqual(Array.from({ length: 25 }, (_, i) => `Step ${24 - i}`));

    const first = await get(`/api/profiles/${id}/events?limit=1`).expect(200);
    expect(first.body.items[0]).toMatchObject({
      type: 'track',
      name: 'Step 24',
      userId: 'pager',
      id: expect.stringMatching(/^\d+$/),
    });
    await get(`/api/profiles/${id}/events?cursor=bogus`).expect(400);
    const tooMany = await get(`/api/profiles/${id}/events?limit=5000`).expect(400);
    expect(tooMany.body.errors).toEqual([{ field: 'limit', reason: 'must be at most 1000' }]);
  });

  it('answers 404 and no data to a token of another workspace', async () => {
    const id = await profileOf(sql, ws.workspaceId, 'user_id', 'grace');
    for (const call of [
      get(`/api/profiles/${id}`, other.apiToken),
      get(`/api/profiles/${id}/events`, other.apiToken),
      app.http().delete(`/api/profiles/${id}`).set('authorization', `Bearer ${other.apiToken}`),
    ]) {
      const response = await call.expect(404);
      expect(JSON.stringify(response.body)).not.toContain('grace');
    }
    expect((await get('/api/profiles?identifier=user_id:grace', other.apiToken).expect(200)).body).toEqual({
      items: [],
      nextCursor: null,
    });
    await get(`/api/profiles/${id}`, 'prs_not-a-token').expect(401);
    await get('/api/profiles/not-a-uuid').expect(400);
    expect(await profileOf(sql, ws.workspaceId, 'user_id', 'grace')).toBe(id);
  });

  describe('erasure', () => {
    it('erases the person, merged-away profiles included, and suppresses their emails', async () => {
      await send({
        type: 'identify',
        anonymousId: 'erase-old',
        traits: { email: 'Old@Example.com' },
        timestamp: '2024-01-01T00:00:00Z',
      });
      await send({
        type: 'identify',
        userId: 'erase-me',
        traits: { email: 'me@example.com' },
        timestamp: '2024-02-01T00:00:00Z',
      });
      await send({ type: 'group', userId: 'erase-me', groupId: 'erase-org' });
      await send({ type: 'track', userId: 'erase-me', anonymousId: 'erase-old', event: 'Merge' });
      const survivor = await profileOf(sql, ws.workspaceId, 'anonymous_id', 'erase-old');
      const [merged] = await sql.rows<{ id: string }>('SELECT id FROM profiles WHERE merged_into_id = $1', [survivor]);
      const [audience] = await sql.rows<{ id: string }>(
        `INSERT INTO audiences (id, workspace_id, key, name, definition_ast, definition_text)
         VALUES (gen_random_uuid(), $1, 'erase-aud', 'A', '{}', 'x') RETURNING id`,
        [ws.workspaceId],
      );
      await sql.rows('INSERT INTO audience_members (audience_id, profile_id, entered_at) VALUES ($1, $2, now())', [
        audience?.id,
        survivor,
      ]);

      // Erasing through the merged-away id erases the whole person.
      const response = await app
        .http()
        .delete(`/api/profiles/${merged?.id}`)
        .set('authorization', `Bearer ${ws.apiToken}`)
        .expect(200);
      expect(response.body).toEqual({ profiles: 2, identities: 4, events: 4, suppressedEmails: 2 });

      const ids = [survivor, merged?.id];
      expect(await sql.count('SELECT count(*) FROM profiles WHERE id = ANY($1)', [ids])).toBe(0);
      expect(await sql.count('SELECT count(*) FROM identities WHERE profile_id = ANY($1)', [ids])).toBe(0);
      expect(await sql.count('SELECT count(*) FROM events WHERE profile_id = ANY($1)', [ids])).toBe(0);
      expect(await sql.count('SELECT count(*) FROM group_memberships WHERE profile_id = ANY($1)', [ids])).toBe(0);
      expect(await sql.count('SELECT count(*) FROM audience_members WHERE profile_id = ANY($1)', [ids])).toBe(0);
      expect(await sql.count('SELECT count(*) FROM profile_merges WHERE into_profile_id = ANY($1)', [ids])).toBe(0);
      const suppressed = await sql.rows<{ email: string; reason: string }>(
        'SELECT email, reason FROM suppressions WHERE workspace_id = $1 ORDER BY email',
        [ws.workspaceId],
      );
      expect(suppressed).toEqual([
        { email: 'me@example.com', reason: 'erased' },
        { email: 'old@example.com', reason: 'erased' },
      ]);
      await get(`/api/profiles/${survivor}`).expect(404);
      await app.http().delete(`/api/profiles/${survivor}`).set('authorization', `Bearer ${ws.apiToken}`).expect(404);

      // The same ids seen again start a new profile.
      await send({ type: 'track', anonymousId: 'erase-old', event: 'Back' });
      const fresh = await profileOf(sql, ws.workspaceId, 'anonymous_id', 'erase-old');
      expect(fresh).toBeDefined();
      expect(ids).not.toContain(fresh);
    });
  });
});
