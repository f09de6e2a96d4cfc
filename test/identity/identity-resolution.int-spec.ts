import { TrackingModule } from '../../src/tracking/tracking.module';
import { TrackingService } from '../../src/tracking/tracking.service';
import { WorkspaceCredentials } from '../support/app';
import { createWorkspaceIn, startTestModule, TestModule } from '../support/modules';
import { basicAuth, profileOf, SEEN_NOW, TestSql } from '../tracking/tracking-support';

interface ProfileRow {
  id: string;
  traits: Record<string, unknown>;
  merged_into_id: string | null;
  merge_count: number;
  first_seen_at: Date;
  last_seen_at: Date;
}

/** Identity resolution as ingestion does it, on the tracking services (no HTTP: its tests are in test/tracking). */
describe('identity resolution', () => {
  let module: TestModule;
  let sql: TestSql;

  beforeAll(async () => {
    module = await startTestModule([TrackingModule]);
    sql = await TestSql.connect(module);
  });
  afterAll(async () => {
    await sql.close();
    await module.close();
  });

  /** Each test works in a workspace of its own, optionally with identity settings. */
  const workspace = async (identity?: object): Promise<WorkspaceCredentials> => {
    const ws = await createWorkspaceIn(module);
    if (identity) await sql.setWorkspaceSettings(ws.workspaceId, { identity });
    return ws;
  };
  /** One batch call, as /v1/batch makes it. */
  const send = async (ws: WorkspaceCredentials, ...batch: object[]): Promise<void> => {
    await module.get(TrackingService).ingest('batch', { batch }, { authorization: basicAuth(ws.writeKey) });
  };
  const profile = async (id: string | undefined): Promise<ProfileRow> => {
    const [row] = await sql.rows<ProfileRow>(`SELECT p.*, ${SEEN_NOW} FROM profiles p WHERE p.id = $1`, [id]);
    if (!row) throw new Error(`no profile ${id}`);
    return row;
  };
  const liveProfiles = (ws: WorkspaceCredentials) =>
    sql.count('SELECT count(*) FROM profiles WHERE workspace_id = $1 AND merged_into_id IS NULL', [ws.workspaceId]);
  const identities = async (ws: WorkspaceCredentials, profileId: string | undefined): Promise<string[]> =>
    (
      await sql.rows<{ id: string }>(
        "SELECT type || ':' || value AS id FROM identities WHERE workspace_id = $1 AND profile_id = $2 ORDER BY 1",
        [ws.workspaceId, profileId],
      )
    ).map((row) => row.id);

  it('joins anonymousId, userId and email (traits and context.traits) into one profile', async () => {
    const ws = await workspace();
    await send(ws, { type: 'page', anonymousId: 'anon-1', name: 'Home' });
    await send(ws, {
      type: 'identify',
      anonymousId: 'anon-1',
      userId: 'user-1',
      traits: { email: ' Ada@Example.COM ' },
    });
    await send(ws, {
      type: 'track',
      userId: 'user-1',
      event: 'E',
      context: { traits: { email: 'ada+work@example.com' } },
    });
    const id = await profileOf(sql, ws.workspaceId, 'anonymous_id', 'anon-1');
    expect(await identities(ws, id)).toEqual([
      'anonymous_id:anon-1',
      'email:ada+work@example.com',
      'email:ada@example.com',
      'user_id:user-1',
    ]);
    expect(await liveProfiles(ws)).toBe(1);
    expect(await sql.count('SELECT count(*) FROM events WHERE profile_id = $1', [id])).toBe(3);
  });

  it('merges two profiles when a message carries identifiers of both, into the oldest', async () => {
    const ws = await workspace();
    await send(ws, {
      type: 'identify',
      anonymousId: 'anon-a',
      traits: { email: 'a@example.com', plan: 'free', color: 'red' },
      timestamp: '2024-01-01T00:00:00Z',
    });
    await send(ws, { type: 'identify', userId: 'user-b', traits: { plan: 'pro' }, timestamp: '2024-02-01T00:00:00Z' });
    await send(ws, { type: 'group', userId: 'user-b', groupId: 'org-1', timestamp: '2024-02-02T00:00:00Z' });
    const older = await profileOf(sql, ws.workspaceId, 'anonymous_id', 'anon-a');
    const newer = await profileOf(sql, ws.workspaceId, 'user_id', 'user-b');
    expect(older).not.toBe(newer);

    await send(ws, {
      type: 'track',
      userId: 'user-b',
      anonymousId: 'anon-a',
      event: 'Logged In',
      timestamp: '2024-03-01T00:00:00Z',
    });

    const survivor = await profile(older);
    const loser = await profile(newer);
    expect(loser.merged_into_id).toBe(older);
    expect(survivor.merged_into_id).toBeNull();
    expect(survivor.merge_count).toBe(1);
    // Latest wins per key: the newer profile's plan, the older profile's other traits.
    expect(survivor.traits).toEqual({ email: 'a@example.com', plan: 'pro', color: 'red' });
    expect(survivor.first_seen_at.toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(survivor.last_seen_at.toISOString()).toBe('2024-03-01T00:00:00.000Z');
    expect(await identities(ws, older)).toEqual(['anonymous_id:anon-a', 'email:a@example.com', 'user_id:user-b']);
    expect(await identities(ws, newer)).toEqual([]);
    expect(await sql.count('SELECT count(*) FROM events WHERE profile_id = $1', [older])).toBe(4);
    expect(await sql.count('SELECT count(*) FROM events WHERE profile_id = $1', [newer])).toBe(0);
    expect(await sql.count('SELECT count(*) FROM group_memberships WHERE profile_id = $1', [older])).toBe(1);
    const merges = await sql.rows<{ from_profile_id: string; into_profile_id: string; identifiers: unknown }>(
      'SELECT from_profile_id, into_profile_id, identifiers FROM profile_merges WHERE workspace_id = $1',
      [ws.workspaceId],
    );
    expect(merges).toEqual([
      {
        from_profile_id: newer,
        into_profile_id: older,
        identifiers: [
          { type: 'user_id', value: 'user-b' },
          { type: 'anonymous_id', value: 'anon-a' },
        ],
      },
    ]);
    // Each request queued its profiles; the merge queued the survivor and the loser together, in one row.
    const queued = await sql.rows<{ profile_ids: string[] }>(
      'SELECT profile_ids FROM profile_changes WHERE workspace_id = $1 ORDER BY id',
      [ws.workspaceId],
    );
    expect(queued.map((row) => row.profile_ids)).toEqual([[older], [newer], [newer], [older, newer], [older]]);
  });

  it('refuses a merge that would give a profile two user_ids; the message goes to its user_id owner', async () => {
    const ws = await workspace();
    await send(ws, { type: 'identify', userId: 'user-1', anonymousId: 'anon-1' });
    await send(ws, { type: 'identify', userId: 'user-2', anonymousId: 'anon-2' });
    await send(ws, {
      type: 'track',
      userId: 'user-2',
      anonymousId: 'anon-1',
      event: 'Shared Device',
      messageId: 'conflict-1',
    });

    const one = await profileOf(sql, ws.workspaceId, 'user_id', 'user-1');
    const two = await profileOf(sql, ws.workspaceId, 'user_id', 'user-2');
    expect(one).not.toBe(two);
    expect(await sql.count('SELECT count(*) FROM profile_merges WHERE workspace_id = $1', [ws.workspaceId])).toBe(0);
    expect(await identities(ws, one)).toEqual(['anonymous_id:anon-1', 'user_id:user-1']);
    const [event] = await sql.rows<{ profile_id: string }>(
      "SELECT profile_id FROM events WHERE message_id = 'conflict-1'",
    );
    expect(event?.profile_id).toBe(two);
  });

  it('gives a new user_id on a known device a profile of its own', async () => {
    const ws = await workspace();
    await send(ws, { type: 'identify', userId: 'user-1', anonymousId: 'device-1' });
    await send(ws, { type: 'identify', userId: 'user-3', anonymousId: 'device-1', messageId: 'new-user-on-device' });
    const first = await profileOf(sql, ws.workspaceId, 'user_id', 'user-1');
    const third = await profileOf(sql, ws.workspaceId, 'user_id', 'user-3');
    expect(third).toBeDefined();
    expect(third).not.toBe(first);
    expect(await profileOf(sql, ws.workspaceId, 'anonymous_id', 'device-1')).toBe(first);
    const [event] = await sql.rows<{ profile_id: string }>(
      "SELECT profile_id FROM events WHERE message_id = 'new-user-on-device'",
    );
    expect(event?.profile_id).toBe(third);
  });

  it('sends a refused message without user_id to the most recently seen profile', async () => {
    const ws = await workspace({ limits: { email: 1 } });
    await send(ws, {
      type: 'identify',
      anonymousId: 'anon-1',
      traits: { email: 'one@example.com' },
      timestamp: '2024-01-01T00:00:00Z',
    });
    await send(ws, {
      type: 'identify',
      anonymousId: 'anon-2',
      traits: { email: 'two@example.com' },
      timestamp: '2024-05-01T00:00:00Z',
    });
    await send(ws, {
      type: 'track',
      anonymousId: 'anon-1',
      event: 'E',
      context: { traits: { email: 'two@example.com' } },
      messageId: 'recent',
    });
    const two = await profileOf(sql, ws.workspaceId, 'anonymous_id', 'anon-2');
    expect(await liveProfiles(ws)).toBe(2);
    const [event] = await sql.rows<{ profile_id: string }>("SELECT profile_id FROM events WHERE message_id = 'recent'");
    expect(event?.profile_id).toBe(two);
  });

  it('caps the merges a profile may absorb', async () => {
    const ws = await workspace({ maxMergesPerProfile: 1 });
    await send(ws, { type: 'identify', anonymousId: 'hub', traits: { email: 'hub@example.com' } });
    await send(ws, { type: 'identify', anonymousId: 'spoke-1', traits: { phone: '1' } });
    await send(ws, { type: 'identify', anonymousId: 'spoke-2' });
    await send(ws, {
      type: 'track',
      anonymousId: 'spoke-1',
      event: 'E',
      context: { traits: { email: 'hub@example.com' } },
    });
    await send(ws, {
      type: 'track',
      anonymousId: 'spoke-2',
      event: 'E',
      context: { traits: { email: 'hub@example.com' } },
    });
    const hub = await profileOf(sql, ws.workspaceId, 'anonymous_id', 'hub');
    expect((await profile(hub)).merge_count).toBe(1);
    expect(await profileOf(sql, ws.workspaceId, 'anonymous_id', 'spoke-1')).toBe(hub);
    expect(await profileOf(sql, ws.workspaceId, 'anonymous_id', 'spoke-2')).not.toBe(hub);
  });

  it.each(['null', 'undefined', 'Anonymous', '0', '-1', '  '])(
    'ignores the blocked value %p as an identifier',
    async (value) => {
      const ws = await workspace();
      await send(ws, { type: 'track', userId: value, anonymousId: 'device-x', event: 'E' });
      await send(ws, { type: 'track', userId: value, anonymousId: 'device-y', event: 'E' });
      expect(await liveProfiles(ws)).toBe(2);
      expect(
        await sql.count("SELECT count(*) FROM identities WHERE workspace_id = $1 AND type = 'user_id'", [
          ws.workspaceId,
        ]),
      ).toBe(0);
    },
  );

  it('uses configured blocked values and extra identifier types', async () => {
    const ws = await workspace({
      extraIdentifiers: [{ type: 'phone', trait: 'phone' }],
      blockedValues: ['test@example.com', '000'],
    });
    await send(ws, { type: 'identify', anonymousId: 'web', traits: { phone: '+4930123', email: 'test@example.com' } });
    await send(ws, { type: 'track', anonymousId: 'app', event: 'E', context: { traits: { phone: '+4930123' } } });
    await send(ws, { type: 'identify', anonymousId: 'other', traits: { phone: '000' } });
    const web = await profileOf(sql, ws.workspaceId, 'anonymous_id', 'web');
    expect(await identities(ws, web)).toEqual(['anonymous_id:app', 'anonymous_id:web', 'phone:+4930123']);
    expect(await liveProfiles(ws)).toBe(2);
  });

  it('links previousId to userId on alias', async () => {
    const ws = await workspace();
    await send(ws, { type: 'track', anonymousId: 'before-signup', event: 'Viewed Pricing' });
    await send(ws, { type: 'alias', previousId: 'before-signup', userId: 'signed-up' });
    await send(ws, { type: 'track', userId: 'signed-up', event: 'Upgraded' });
    const id = await profileOf(sql, ws.workspaceId, 'user_id', 'signed-up');
    expect(await profileOf(sql, ws.workspaceId, 'anonymous_id', 'before-signup')).toBe(id);
    expect(await sql.count('SELECT count(*) FROM events WHERE profile_id = $1', [id])).toBe(3);
  });

  it('merges traits latest-wins by event time; a late older identify only fills gaps', async () => {
    const ws = await workspace();
    await send(
      ws,
      { type: 'identify', userId: 'traits-user', traits: { plan: 'pro', seats: 5 }, timestamp: '2024-03-01T00:00:00Z' },
      {
        type: 'identify',
        userId: 'traits-user',
        traits: { plan: 'free', name: 'Ada' },
        timestamp: '2024-01-01T00:00:00Z',
      },
    );
    const id = await profileOf(sql, ws.workspaceId, 'user_id', 'traits-user');
    expect((await profile(id)).traits).toEqual({ plan: 'pro', seats: 5, name: 'Ada' });

    await send(ws, {
      type: 'identify',
      userId: 'traits-user',
      traits: { seats: 9 },
      timestamp: '2024-04-01T00:00:00Z',
    });
    await send(ws, {
      type: 'identify',
      userId: 'traits-user',
      traits: { seats: 1, country: 'DE' },
      timestamp: '2024-02-01T00:00:00Z',
    });
    const row = await profile(id);
    expect(row.traits).toEqual({ plan: 'pro', seats: 9, name: 'Ada', country: 'DE' });
    expect(row.first_seen_at.toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(row.last_seen_at.toISOString()).toBe('2024-04-01T00:00:00.000Z');
  });

  it('records group membership and group traits', async () => {
    const ws = await workspace();
    await send(ws, {
      type: 'group',
      userId: 'member-1',
      groupId: 'initech',
      traits: { name: 'Initech', plan: 'basic' },
    });
    await send(ws, {
      type: 'group',
      userId: 'member-2',
      groupId: 'initech',
      traits: { plan: 'enterprise', employees: 329 },
    });
    const [group] = await sql.rows<{ id: string; traits: unknown }>(
      "SELECT id, traits FROM groups WHERE workspace_id = $1 AND group_id = 'initech'",
      [ws.workspaceId],
    );
    expect(group?.traits).toEqual({ name: 'Initech', plan: 'enterprise', employees: 329 });
    expect(await sql.count('SELECT count(*) FROM group_memberships WHERE group_id = $1', [group?.id])).toBe(2);
    // Group traits describe the group, not the person.
    const member = await profileOf(sql, ws.workspaceId, 'user_id', 'member-1');
    expect((await profile(member)).traits).toEqual({});
  });

  it('writes one outbox row per request, listing each touched profile once', async () => {
    const ws = await workspace();
    await send(
      ws,
      { type: 'track', userId: 'outbox-1', event: 'A' },
      { type: 'track', userId: 'outbox-1', event: 'B' },
      { type: 'track', userId: 'outbox-2', event: 'A' },
    );
    const queued = await sql.rows<{ profile_ids: string[] }>(
      'SELECT profile_ids FROM profile_changes WHERE workspace_id = $1',
      [ws.workspaceId],
    );
    expect(queued).toHaveLength(1);
    const touched = [
      await profileOf(sql, ws.workspaceId, 'user_id', 'outbox-1'),
      await profileOf(sql, ws.workspaceId, 'user_id', 'outbox-2'),
    ];
    expect([...queued[0]!.profile_ids].sort()).toEqual(touched.sort());
  });
});
