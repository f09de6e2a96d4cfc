import { PROFILES_PER_CHANGE } from '../../src/membership/profile-changes.repository';
import { applyPendingSeen } from '../../src/profiles/profile-seen';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { basicAuth, profileOf, TestSql } from './tracking-support';

interface ProfileBody {
  id: string;
  traits: Record<string, unknown>;
  firstSeenAt: string;
  lastSeenAt: string;
}

const at = (base: string, minutes: number): string => new Date(Date.parse(base) + minutes * 60_000).toISOString();

/**
 * The profile upkeep of ingest: identify traits are one update per profile and request, whatever
 * the number of events, applied before the request answers; a known profile's first/last seen
 * are read from its events until evaluation applies them, so reads right after the request see
 * them. Concurrent requests about one person each apply theirs on top of the others'. A request
 * queues its touched profiles in outbox rows of PROFILES_PER_CHANGE, which erasure prunes.
 */
describe('profile upkeep at ingest', () => {
  let app: TestApp;
  let ws: WorkspaceCredentials;
  let sql: TestSql;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' });
    ws = await createWorkspace(app);
    sql = await TestSql.connect(app);
  });
  afterAll(async () => {
    await sql.close();
    await app.close();
  });

  const post = (path: string, body: unknown) =>
    app
      .http()
      .post(path)
      .set('authorization', basicAuth(ws.writeKey))
      .send(body as object);
  const profile = async (userId: string): Promise<ProfileBody> => {
    const id = await profileOf(sql, ws.workspaceId, 'user_id', userId);
    const response = await app
      .http()
      .get(`/api/profiles/${id ?? 'none'}`)
      .set('authorization', `Bearer ${ws.apiToken}`)
      .expect(200);
    return response.body as ProfileBody;
  };

  it('applies a request of many events for one person as if they came one by one, visible when it answers', async () => {
    const t0 = '2026-03-01T12:00:00.000Z';
    await post('/v1/identify', { userId: 'many', traits: { plan: 'free', name: 'Ada' }, timestamp: t0 }).expect(200);

    const tracks = Array.from({ length: 60 }, (_, i) => ({
      type: 'track',
      userId: 'many',
      event: 'Page Read',
      // Out of order on purpose: the latest is in the middle of the batch.
      timestamp: at(t0, ((i * 37) % 60) + 1),
    }));
    const batch = [
      ...tracks.slice(0, 20),
      { type: 'identify', userId: 'many', traits: { plan: 'team', seats: 3 }, timestamp: at(t0, 40) },
      ...tracks.slice(20, 40),
      // Older than what the profile had seen before the request: only fills keys it lacks.
      { type: 'identify', userId: 'many', traits: { plan: 'old', company: 'Acme' }, timestamp: at(t0, -24 * 60) },
      { type: 'identify', userId: 'many', traits: { plan: 'pro' }, timestamp: at(t0, 10) },
      { type: 'track', userId: 'many', event: 'Imported', timestamp: at(t0, -2 * 24 * 60) },
      ...tracks.slice(40),
    ];
    await post('/v1/batch', { batch }).expect(200);

    const read = await profile('many');
    expect(read.lastSeenAt).toBe(at(t0, 60));
    expect(read.firstSeenAt).toBe(at(t0, -2 * 24 * 60));
    // In event time: pro (t0+10) then team (t0+40); the day-old call adds only company.
    expect(read.traits).toEqual({ plan: 'team', name: 'Ada', seats: 3, company: 'Acme' });
    expect(
      await sql.count('SELECT count(*) FROM events WHERE workspace_id = $1 AND profile_id = $2', [
        ws.workspaceId,
        read.id,
      ]),
    ).toBe(1 + batch.length);
  });

  it('lets concurrent requests about one person each build on the others', async () => {
    const t0 = '2026-04-01T08:00:00.000Z';
    await post('/v1/identify', { userId: 'busy', traits: { start: true }, timestamp: t0 }).expect(200);
    const requests = Array.from({ length: 8 }, (_, i) => ({
      batch: [
        ...Array.from({ length: 10 }, (_, j) => ({
          type: 'track',
          userId: 'busy',
          event: 'Clicked',
          timestamp: at(t0, i * 10 + j),
        })),
        // Whatever order the requests commit in, the latest identify wins `last` and every key stays.
        { type: 'identify', userId: 'busy', traits: { last: i, [`k${i}`]: true }, timestamp: at(t0, i * 10 + 5) },
      ],
    }));
    await Promise.all(requests.map((body) => post('/v1/batch', body).expect(200)));

    const read = await profile('busy');
    expect(read.lastSeenAt).toBe(at(t0, 79));
    expect(read.firstSeenAt).toBe(t0);
    expect(read.traits).toEqual({
      start: true,
      last: 7,
      ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`k${i}`, true])),
    });
  });

  it("leaves a known profile's first/last seen to evaluation: its row is not updated, reads still see them", async () => {
    const t0 = '2026-05-01T08:00:00.000Z';
    await post('/v1/identify', { userId: 'seen', traits: { plan: 'free' }, timestamp: t0 }).expect(200);
    const id = await profileOf(sql, ws.workspaceId, 'user_id', 'seen');
    const stored = async () =>
      (
        await sql.rows<{ first: Date; last: Date; updated: Date }>(
          'SELECT first_seen_at AS first, last_seen_at AS last, updated_at AS updated FROM profiles WHERE id = $1',
          [id],
        )
      )[0];
    const before = await stored();

    await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'seen', event: 'Opened', timestamp: at(t0, 30) },
        { type: 'track', userId: 'seen', event: 'Imported', timestamp: at(t0, -60) },
        { type: 'page', userId: 'seen', name: 'Home', timestamp: at(t0, 90) },
      ],
    }).expect(200);
    // A repeated messageId stores nothing and moves nothing.
    await post('/v1/track', { userId: 'seen', event: 'Opened', messageId: 'seen-once', timestamp: at(t0, 120) });
    await post('/v1/track', { userId: 'seen', event: 'Opened', messageId: 'seen-once', timestamp: at(t0, 999) });

    expect(await stored()).toEqual(before);
    // Each request queued the profile in a row of its own, the one whose only event was a duplicate too.
    expect(
      await sql.rows(
        'SELECT profile_ids FROM profile_changes WHERE workspace_id = $1 AND $2 = ANY(profile_ids) ORDER BY id',
        [ws.workspaceId, id],
      ),
    ).toEqual(Array.from({ length: 4 }, () => ({ profile_ids: [id] })));
    // The profile API reads the range of its events (the duplicate's t0+999 was never stored).
    const read = await profile('seen');
    expect([read.firstSeenAt, read.lastSeenAt]).toEqual([at(t0, -60), at(t0, 120)]);

    // What evaluation does first: apply its events' first/last seen, once; again changes nothing.
    const apply = applyPendingSeen({ workspaceId: ws.workspaceId, profileIds: [id ?? ''] });
    expect(await sql.rows(apply.text, apply.values)).toEqual([{ updated: 1 }]);
    expect(await sql.rows(apply.text, apply.values)).toEqual([{ updated: 0 }]);
    const applied = await stored();
    expect([applied?.first.toISOString(), applied?.last.toISOString()]).toEqual([at(t0, -60), at(t0, 120)]);
  });

  it('queues a request about 250 new people in outbox rows of 100, 100 and 50; erasure takes one out', async () => {
    const userIds = Array.from({ length: 250 }, (_, i) => `crowd-${i}`);
    await post('/v1/batch', {
      batch: userIds.map((userId) => ({ type: 'track', userId, event: 'Arrived' })),
    }).expect(200);
    const people = await sql.rows<{ value: string; profile_id: string }>(
      `SELECT value, profile_id FROM identities WHERE workspace_id = $1 AND type = 'user_id' AND value = ANY($2)`,
      [ws.workspaceId, userIds],
    );
    expect(people).toHaveLength(250);
    const ids = people.map((p) => p.profile_id);
    const queued = async () =>
      (
        await sql.rows<{ id: string; profile_ids: string[] }>(
          `SELECT id::text, profile_ids FROM profile_changes
           WHERE workspace_id = $1 AND profile_ids && $2::uuid[] ORDER BY id`,
          [ws.workspaceId, ids],
        )
      ).map((row) => ({ id: row.id, profileIds: row.profile_ids }));
    const rows = await queued();
    expect(rows.map((row) => row.profileIds.length).sort((a, b) => b - a)).toEqual([
      PROFILES_PER_CHANGE,
      PROFILES_PER_CHANGE,
      50,
    ]);
    // Exactly those people, each once.
    expect(rows.flatMap((row) => row.profileIds).sort()).toEqual([...ids].sort());

    // Another request about one of them: a row of its own.
    const erased = ids[0]!;
    const listing = rows.find((row) => row.profileIds.includes(erased))!;
    const { value: erasedUserId } = people.find((p) => p.profile_id === erased)!;
    await post('/v1/track', { userId: erasedUserId, event: 'Came Back' }).expect(200);
    expect((await queued()).filter((row) => row.profileIds.includes(erased))).toEqual([
      listing,
      { id: expect.any(String), profileIds: [erased] },
    ]);

    await app.http().delete(`/api/profiles/${erased}`).set('authorization', `Bearer ${ws.apiToken}`).expect(200);
    // Out of the row it shared, in order, with the others left; its own row gone.
    expect(await queued()).toEqual(
      rows.map((row) =>
        row.id === listing.id ? { ...row, profileIds: row.profileIds.filter((p) => p !== erased) } : row,
      ),
    );
    expect(
      await sql.count('SELECT count(*) FROM profile_changes WHERE workspace_id = $1 AND $2 = ANY(profile_ids)', [
        ws.workspaceId,
        erased,
      ]),
    ).toBe(0);
  });

  it('compares a late identify with the newest identify taken, not with the last event seen', async () => {
    const t0 = '2026-06-01T08:00:00.000Z';
    await post('/v1/identify', { userId: 'late', traits: { plan: 'free', name: 'Ada' }, timestamp: t0 }).expect(200);
    await post('/v1/track', { userId: 'late', event: 'Opened', timestamp: at(t0, 60) }).expect(200);
    // Sent at t0+30, arriving after the track of t0+60: still the newest word on `plan`.
    await post('/v1/identify', { userId: 'late', traits: { plan: 'pro' }, timestamp: at(t0, 30) }).expect(200);
    // Older than that identify: only fills keys the profile lacks.
    await post('/v1/identify', {
      userId: 'late',
      traits: { plan: 'old', company: 'Acme' },
      timestamp: at(t0, 10),
    }).expect(200);
    expect((await profile('late')).traits).toEqual({ plan: 'pro', name: 'Ada', company: 'Acme' });
  });
});
