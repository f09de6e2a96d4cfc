/**
 * The onboarding seed's scenario 2 end to end, through the tracking and management APIs, with an
 * injected clock: a four-component account adoption score ("a box of Legos") with green / yellow /
 * red bands, explained per account, snapshotted weekly for three weeks, with the history and
 * distribution endpoints returning the series computed by hand below; account audiences read the
 * score, its band and its change.
 *
 *   component               points   week 1 (Sep 7)   week 2 (Sep 14)   week 3 (Sep 21)
 *   teammates added (≥ 2)     20     acme             acme, initech      acme, initech, globex
 *   source connected          30     acme, initech    acme, initech      acme, initech
 *   destination connected     30     -                acme               acme
 *   active within 7 days      20     all three        acme, initech      globex
 *   ----------------------------------------------------------------------------------------
 *   acme                              70 green         100 green          80 green
 *   globex                            20 red             0 red            40 yellow
 *   initech                           50 yellow         70 green          50 yellow
 */
import { ManualClock } from '../../src/common/clock';
import { QueueName } from '../../src/queues/queue-names';
import { finished } from '../membership/membership-support';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { waitFor } from '../support/wait-for';
import { basicAuth, TestSql } from '../tracking/tracking-support';

const DAY = 86_400_000;
/** A Monday, well before the real date, so that no timestamp sent is in the future for the tracking API. */
const T0 = new Date('2026-09-07T09:00:00.000Z');
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const WEEK_1 = '2026-09-07T00:00:00.000Z';
const WEEK_2 = '2026-09-14T00:00:00.000Z';
const WEEK_3 = '2026-09-21T00:00:00.000Z';

const ADOPTION = {
  key: 'adoption_score',
  name: 'Core adoption',
  level: 'account',
  components: [
    { name: 'Teammates added', condition: 'members at least 2', points: 20 },
    { name: 'Source connected', condition: 'any member performed "Source Connected"', points: 30 },
    { name: 'Destination connected', condition: 'any member performed "Destination Connected"', points: 30 },
    { name: 'Active this week', condition: 'any member active within 7 days', points: 20 },
  ],
  bands: [
    { name: 'green', min: 70 },
    { name: 'yellow', min: 40 },
    { name: 'red', min: 0 },
  ],
  snapshot: 'weekly',
};

describe('adoption score scenario (ManualClock)', () => {
  let clock: ManualClock;
  let app: TestApp;
  let sql: TestSql;

  beforeAll(async () => {
    clock = new ManualClock(T0);
    app = await startTestApp({}, { clock });
    sql = await TestSql.connect(app);
  });

  afterAll(async () => {
    await sql?.close();
    await app?.close();
  });

  function client(ws: WorkspaceCredentials) {
    const auth = `Bearer ${ws.apiToken}`;
    return {
      get: (path: string) => app.http().get(path).set('authorization', auth),
      post: (path: string) => app.http().post(path).set('authorization', auth),
      async track(batch: object[]): Promise<void> {
        await app
          .http()
          .post('/v1/batch')
          .set('authorization', basicAuth(ws.writeKey))
          .send({ batch: batch.map((m, i) => ({ messageId: `m-${Date.now()}-${Math.random()}-${i}`, ...m })) })
          .expect(200);
      },
    };
  }
  type Api = ReturnType<typeof client>;

  const join = (userId: string, groupId: string, day: number) => ({
    type: 'group',
    userId,
    groupId,
    traits: { name: groupId },
    timestamp: at(day).toISOString(),
  });
  const event = (userId: string, name: string, day: number) => ({
    type: 'track',
    userId,
    event: name,
    timestamp: at(day).toISOString(),
  });

  /** A manual computation at the clock's instant (what the score's scheduler does every interval). */
  async function computeScore(api: Api, scoreId: string): Promise<{ snapshotted: number }> {
    const response = await api.post(`/api/scores/${scoreId}/compute`).expect(202);
    return finished(app, QueueName.ComputeScores, response.body.jobId as string);
  }

  async function computeAudience(api: Api, audienceId: string): Promise<string[]> {
    const response = await api.post(`/api/audiences/${audienceId}/compute`).expect(202);
    await finished(app, QueueName.Compute, response.body.jobId as string);
    const members = await sql.rows<{ group_id: string }>(
      `SELECT g.group_id FROM audience_members m JOIN groups g ON g.id = m.profile_id
       WHERE m.audience_id = $1 ORDER BY g.group_id`,
      [audienceId],
    );
    return members.map((m) => m.group_id);
  }

  async function accountAudience(api: Api, key: string, definition: string): Promise<string> {
    const response = await api
      .post('/api/audiences')
      .send({ key, name: key, level: 'account', definition, refreshIntervalSeconds: 3600 });
    if (response.status !== 201) throw new Error(`${response.status} ${JSON.stringify(response.body)}`);
    return response.body.id as string;
  }

  async function history(api: Api, scoreId: string, groupId: string) {
    const response = await api.get(`/api/scores/${scoreId}/history?accountId=${groupId}`).expect(200);
    return (response.body.items as { periodStart: string; value: number; band: string }[]).map((p) => [
      p.periodStart,
      p.value,
      p.band,
    ]);
  }

  it('scenario 2: a four-component account score, explained, snapshotted weekly for three weeks', async () => {
    const ws = await createWorkspace(app);
    const api = client(ws);

    // Week 1.
    await api.track([
      join('acme-owner', 'acme', 0),
      join('acme-dev', 'acme', 0),
      event('acme-owner', 'Source Connected', 0),
      join('globex-owner', 'globex', 0),
      event('globex-owner', 'Login', 0),
      join('initech-owner', 'initech', 0),
      event('initech-owner', 'Source Connected', 0),
    ]);
    const created = await api.post('/api/scores').send(ADOPTION).expect(201);
    const scoreId = created.body.id as string;
    expect(created.body).toMatchObject({ key: 'adoption_score', bandKey: 'adoption_score_band', maxScore: 100 });
    const first = await finished<{ snapshotted: number }>(app, QueueName.ComputeScores, `score-${scoreId}-v1`);
    expect(first).toMatchObject({ kind: 'computed', valueCount: 3, snapshotted: 3 });

    const explained = await api.get(`/api/scores/${scoreId}/explain?accountId=acme`).expect(200);
    expect(explained.body).toMatchObject({
      accountId: 'acme',
      total: 70,
      band: 'green',
      stored: { value: 70, band: 'green' },
    });
    expect(
      (explained.body.components as { name: string; holds: boolean; earned: number }[]).map((c) => [
        c.name,
        c.holds,
        c.earned,
      ]),
    ).toEqual([
      ['Teammates added', true, 20],
      ['Source connected', true, 30],
      ['Destination connected', false, 0],
      ['Active this week', true, 20],
    ]);
    const initech = await api.get(`/api/scores/${scoreId}/explain?accountId=initech`).expect(200);
    expect(initech.body).toMatchObject({ total: 50, band: 'yellow' });

    // Week 2: acme connects a destination, initech adds a teammate and logs in, globex goes quiet.
    clock.set(at(7));
    await api.track([
      event('acme-dev', 'Destination Connected', 7),
      join('initech-dev', 'initech', 7),
      event('initech-owner', 'Login', 7),
    ]);
    expect(await computeScore(api, scoreId)).toMatchObject({ snapshotted: 3 });
    const red = await accountAudience(api, 'red-adoption', 'computed adoption_score_band = "red"');
    const low = await accountAudience(api, 'low-adoption', 'computed adoption_score < 40');
    expect(await computeAudience(api, red)).toEqual(['globex']);
    expect(await computeAudience(api, low)).toEqual(['globex']);

    // Week 3: acme and initech go quiet, globex adds a teammate and logs in.
    clock.set(at(14));
    await api.track([join('globex-dev', 'globex', 14), event('globex-dev', 'Login', 14)]);
    expect(await computeScore(api, scoreId)).toMatchObject({ snapshotted: 3 });
    // Dropped by 20 or more within 7 days: the score now against the snapshot of the period 7 days ago.
    const dropped = await accountAudience(api, 'dropping', 'computed adoption_score_change_7d <= -20');
    expect(await computeAudience(api, dropped)).toEqual(['acme', 'initech']);
    expect(await computeAudience(api, red)).toEqual([]);

    // Computing again within the week moves the current score but not the week's snapshot.
    clock.set(at(15));
    await api.track([event('acme-owner', 'Login', 15)]);
    expect(await computeScore(api, scoreId)).toMatchObject({ snapshotted: 0 });
    await waitFor(
      async () =>
        (await api.get(`/api/scores/${scoreId}/history?accountId=acme`).expect(200)).body.current?.value === 100,
      { what: "acme's current score after its login" },
    );

    const acme = await api.get('/api/accounts/acme').expect(200);
    expect(acme.body.scores).toEqual({ adoption_score: { value: 100, band: 'green' } });

    expect(await history(api, scoreId, 'acme')).toEqual([
      [WEEK_1, 70, 'green'],
      [WEEK_2, 100, 'green'],
      [WEEK_3, 80, 'green'],
    ]);
    expect(await history(api, scoreId, 'globex')).toEqual([
      [WEEK_1, 20, 'red'],
      [WEEK_2, 0, 'red'],
      [WEEK_3, 40, 'yellow'],
    ]);
    expect(await history(api, scoreId, 'initech')).toEqual([
      [WEEK_1, 50, 'yellow'],
      [WEEK_2, 70, 'green'],
      [WEEK_3, 50, 'yellow'],
    ]);

    const distribution = await api.get(`/api/scores/${scoreId}/distribution?from=2026-09-01&to=2026-09-28`).expect(200);
    expect(distribution.body).toEqual({
      key: 'adoption_score',
      bandNames: ['green', 'yellow', 'red'],
      items: [
        { periodStart: WEEK_1, total: 3, bands: { green: 1, yellow: 1, red: 1 } },
        { periodStart: WEEK_2, total: 3, bands: { green: 2, yellow: 0, red: 1 } },
        { periodStart: WEEK_3, total: 3, bands: { green: 1, yellow: 2, red: 0 } },
      ],
    });
    const later = await api.get(`/api/scores/${scoreId}/distribution?from=2026-09-14&to=2026-09-21`).expect(200);
    expect((later.body.items as { periodStart: string }[]).map((i) => i.periodStart)).toEqual([WEEK_2]);

    // An audience reads the score: it cannot be deleted from under it.
    const refused = await app.http().delete(`/api/scores/${scoreId}`).set('authorization', `Bearer ${ws.apiToken}`);
    expect(refused.status).toBe(409);
    expect(refused.body.referencedBy).toEqual(['dropping', 'low-adoption', 'red-adoption']);
    clock.set(T0);
  });
});
