import { IdentityRepository } from '../../src/identity/identity.repository';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { basicAuth, profileOf, TestSql } from '../tracking/tracking-support';

/**
 * The identities an API process remembers: a request about people it has read skips the identity
 * read, and an entry gone stale (its profile merged away or erased by another process) costs one
 * aborted write, never an event on a dead profile.
 */
describe('identities remembered by the API process', () => {
  let app: TestApp;
  let ws: WorkspaceCredentials;
  let sql: TestSql;
  let reads: jest.SpiedFunction<IdentityRepository['findIdentities']>;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' });
    ws = await createWorkspace(app);
    sql = await TestSql.connect(app);
    reads = jest.spyOn(app.personae.app.get(IdentityRepository), 'findIdentities');
  });
  afterAll(async () => {
    reads.mockRestore();
    await sql.close();
    await app.close();
  });

  const track = (userId: string, event: string) =>
    app.http().post('/v1/track').set('authorization', basicAuth(ws.writeKey)).send({ userId, event }).expect(200);
  const eventsOf = (profileId: string | undefined, event: string) =>
    sql.count('SELECT count(*) FROM events WHERE profile_id = $1 AND name = $2', [profileId, event]);

  it('skips the identity read for people it has read or created before, and reads only what it lacks', async () => {
    await track('remembered', 'First'); // unknown: read, nothing found; the write creates it
    reads.mockClear();
    await track('remembered', 'Second');
    await track('remembered', 'Third');
    expect(reads).not.toHaveBeenCalled();
    const id = await profileOf(sql, ws.workspaceId, 'user_id', 'remembered');
    expect(await sql.count('SELECT count(*) FROM events WHERE profile_id = $1', [id])).toBe(3);

    // Known userId, new anonymousId: only the anonymousId is read, and the person stays one profile.
    await app
      .http()
      .post('/v1/track')
      .set('authorization', basicAuth(ws.writeKey))
      .send({ userId: 'remembered', anonymousId: 'remembered-device', event: 'Fourth' })
      .expect(200);
    expect(reads.mock.calls.map(([, identifiers]) => identifiers)).toEqual([
      [{ type: 'anonymous_id', value: 'remembered-device' }],
    ]);
    expect(await profileOf(sql, ws.workspaceId, 'anonymous_id', 'remembered-device')).toBe(id);
  });

  it('puts the event on the survivor when another process merged the remembered profile away', async () => {
    await track('merged-away', 'One');
    await track('merged-away', 'Two');
    const loser = await profileOf(sql, ws.workspaceId, 'user_id', 'merged-away');
    const [survivor] = await sql.rows<{ id: string }>(
      `INSERT INTO profiles (id, workspace_id, first_seen_at, last_seen_at) VALUES (gen_random_uuid(), $1, now(), now())
       RETURNING id`,
      [ws.workspaceId],
    );
    // What a merge in another process leaves: the identity moved, the loser pointing at the survivor.
    await sql.rows('UPDATE identities SET profile_id = $2 WHERE profile_id = $1', [loser, survivor?.id]);
    await sql.rows('UPDATE profiles SET merged_into_id = $2 WHERE id = $1', [loser, survivor?.id]);

    await track('merged-away', 'Three');
    expect(await eventsOf(survivor?.id, 'Three')).toBe(1);
    expect(await eventsOf(loser, 'Three')).toBe(0);
  });

  it('creates the person again when another process erased the remembered profile', async () => {
    await track('erased', 'One');
    await track('erased', 'Two');
    const erased = await profileOf(sql, ws.workspaceId, 'user_id', 'erased');
    await sql.rows('DELETE FROM profiles WHERE id = $1', [erased]);

    await track('erased', 'Three');
    const recreated = await profileOf(sql, ws.workspaceId, 'user_id', 'erased');
    expect(recreated).toBeDefined();
    expect(recreated).not.toBe(erased);
    expect(await eventsOf(recreated, 'Three')).toBe(1);
    // And from then on it is remembered under its new profile.
    reads.mockClear();
    await track('erased', 'Four');
    expect(reads).not.toHaveBeenCalled();
    expect(await eventsOf(recreated, 'Four')).toBe(1);
  });
});
