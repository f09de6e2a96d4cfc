/**
 * Account-level computed traits end to end, with an injected clock: `active_members_14d` (members
 * active within 14 days) drives "red accounts" (`computed active_members_14d = 0`), an email to the
 * owner reads it as `account.computed`, a member's login moves it in real time, and the values show on
 * the account, in the trait's history and in the preview.
 */
import { ManualClock } from '../../src/common/clock';
import { QueueName } from '../../src/queues/queue-names';
import { SmtpTestServer } from '../destinations/support/smtp-test-server';
import { finished } from '../membership/membership-support';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { waitFor } from '../support/wait-for';
import { basicAuth, TestSql } from '../tracking/tracking-support';

const DAY = 86_400_000;
/** Well before the real date, so that no timestamp sent is in the future for the tracking API. */
const T0 = new Date('2026-09-01T09:00:00.000Z');
const at = (days: number) => new Date(T0.getTime() + days * DAY);

describe('account computed traits (ManualClock)', () => {
  let smtp: SmtpTestServer;
  let clock: ManualClock;
  let app: TestApp;
  let sql: TestSql;

  beforeAll(async () => {
    smtp = await SmtpTestServer.start();
    clock = new ManualClock(T0);
    app = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_URL: 'https://crm.example.test' }, { clock });
    sql = await TestSql.connect(app);
  });

  afterAll(async () => {
    await sql.close();
    await app.close();
    await smtp.close();
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
      async trait(key: string, definition: string, level: 'profile' | 'account'): Promise<string> {
        const response = await app
          .http()
          .post('/api/traits')
          .set('authorization', auth)
          .send({ key, name: key, level, definition, refreshIntervalSeconds: 60 });
        if (response.status !== 201) throw new Error(`${response.status} ${JSON.stringify(response.body)}`);
        return response.body.id as string;
      },
    };
  }

  async function traitReady(traitId: string): Promise<boolean> {
    const [row] = await sql.rows<{ status: string }>('SELECT status::text FROM computed_traits WHERE id = $1', [
      traitId,
    ]);
    return row?.status === 'ready';
  }

  async function members(audienceId: string): Promise<string[]> {
    const rows = await sql.rows<{ group_id: string }>(
      `SELECT g.group_id FROM audience_members m JOIN groups g ON g.id = m.profile_id
       WHERE m.audience_id = $1 ORDER BY g.group_id`,
      [audienceId],
    );
    return rows.map((r) => r.group_id);
  }

  it('keeps active_members_14d per account and drives red accounts with it, in time and in real time', async () => {
    const ws = await createWorkspace(app);
    const api = client(ws);
    const person = (userId: string, email: string, role: string, groupId: string) => [
      { type: 'identify', userId, traits: { email, role }, timestamp: at(0).toISOString() },
      { type: 'group', userId, groupId, traits: { name: groupId.toUpperCase() }, timestamp: at(0).toISOString() },
      { type: 'track', userId, event: 'Login', timestamp: at(0).toISOString() },
    ];
    await api.track([
      ...person('acme-owner', 'owner@acme.test', 'owner', 'acme'),
      ...person('acme-dev', 'dev@acme.test', 'developer', 'acme'),
      ...person('globex-owner', 'owner@globex.test', 'owner', 'globex'),
    ]);
    clock.set(at(10));
    await api.track([{ type: 'track', userId: 'globex-owner', event: 'Login', timestamp: at(10).toISOString() }]);

    clock.set(at(11));
    const logins = await api.trait('logins_7d', 'count "Login" within 7 days', 'profile');
    const active = await api.trait('active_members_14d', 'members active within 14 days', 'account');
    const teamLogins = await api.trait('team_logins_14d', 'count "Login" by members within 14 days', 'account');
    const most = await api.trait('most_logins_7d', 'max computed logins_7d of members', 'account');
    await api.trait('age_days', 'days since created', 'account');
    for (const id of [logins, active, teamLogins, most]) await waitFor(() => traitReady(id), { what: 'computed' });
    // `most_logins_7d` is computed again after `logins_7d` got its values.
    await waitFor(
      async () => Object.keys((await api.get('/api/accounts/acme').expect(200)).body.computedTraits).length === 4,
      { what: 'every account trait' },
    );
    const eleven = await api.get('/api/accounts/acme').expect(200);
    expect(eleven.body.computedTraits).toEqual({
      active_members_14d: 2,
      team_logins_14d: 2,
      age_days: 11,
      // Nobody logged in within 7 days of day 11: a 0 for every member, so a max of 0.
      most_logins_7d: 0,
    });

    // Levels are checked where a trait is read: an account trait only at account level.
    const wrongLevel = await api
      .post('/api/audiences')
      .send({ key: 'x', name: 'x', definition: 'computed active_members_14d = 0' })
      .expect(400);
    expect(wrongLevel.body.errors[0].reason).toContain('it is an account-level trait');
    await api
      .post('/api/audiences')
      .send({ key: 'y', name: 'y', level: 'account', definition: 'computed logins_7d = 0' })
      .expect(400);
    // A profile trait read by an account trait cannot be deleted under it.
    await api.get(`/api/traits/${logins}`).expect(200);
    const refused = await app
      .http()
      .delete(`/api/traits/${logins}`)
      .set('authorization', `Bearer ${ws.apiToken}`)
      .expect(409);
    expect(refused.body.referencedBy).toEqual(['most_logins_7d']);
    // Inside a member condition, `computed` reads a profile trait.
    await api
      .post('/api/audiences')
      .send({ key: 'z', name: 'z', level: 'account', definition: 'any member computed logins_7d >= 0' })
      .expect(201);

    const red = await api
      .post('/api/audiences')
      .send({ key: 'red', name: 'Red accounts', level: 'account', definition: 'computed active_members_14d = 0' })
      .expect(201);
    await waitFor(
      async () =>
        (await sql.rows<{ status: string }>('SELECT status::text FROM audiences WHERE id = $1', [red.body.id]))[0]
          ?.status === 'ready',
      { what: 'red computed' },
    );
    expect(await members(red.body.id)).toEqual([]);
    const destination = await api
      .post('/api/destinations')
      .send({
        type: 'email',
        name: 'Red outreach',
        config: {
          from: 'CS <cs@personae.test>',
          subject: '{{ account.traits.name }} has gone quiet',
          text: '{{ account.groupId }}: {{ account.computed.active_members_14d }} active members, {{ account.computed.team_logins_14d }} logins.',
        },
      })
      .expect(201);
    await api
      .post(`/api/audiences/${red.body.id}/destinations`)
      .send({ destinationId: destination.body.id, recipients: 'trait role = "owner"' })
      .expect(201);

    // Day 15: acme's logins are 15 days old. A computation of the trait (what its schedule does)
    // moves the value, and the audience that reads it is computed after it.
    clock.set(at(15));
    const job = await api.post(`/api/traits/${active}/compute`).expect(202);
    await finished(app, QueueName.ComputeTraits, job.body.jobId as string);
    await waitFor(async () => (await members(red.body.id)).length === 1, { what: 'acme turns red' });
    expect(await members(red.body.id)).toEqual(['acme']);
    await waitFor(() => smtp.to('owner@acme.test').length === 1, { what: "the owner's email" });
    expect(smtp.to('owner@acme.test')[0]!.text).toContain('acme: 0 active members');
    expect(smtp.to('dev@acme.test')).toHaveLength(0);

    const acme = await api.get('/api/accounts/acme').expect(200);
    expect(acme.body.computedTraits).toMatchObject({ active_members_14d: 0 });
    const history = await api.get(`/api/traits/${active}/history?profileId=${acme.body.id}`).expect(200);
    const changes = history.body.items as { oldValue: unknown; newValue: unknown }[];
    expect(changes.map((c) => [c.oldValue, c.newValue])).toEqual([
      [null, 2],
      [2, 0],
    ]);

    // A member logs in: the account's value moves in real time, and the account leaves.
    await api.track([{ type: 'track', userId: 'acme-dev', event: 'Login', timestamp: at(15).toISOString() }]);
    await waitFor(async () => (await members(red.body.id)).length === 0, { what: 'acme leaves' });
    const after = await api.get('/api/accounts/acme').expect(200);
    expect(after.body.computedTraits).toMatchObject({ active_members_14d: 1, team_logins_14d: 1, most_logins_7d: 1 });

    const preview = await api.post('/api/traits/preview').send({ level: 'account', definition: 'members' }).expect(200);
    expect(preview.body).toMatchObject({ count: 2, kind: 'number', min: 1, max: 2, mean: 1.5 });
    const sample = preview.body.sample as { groupId: string }[];
    expect(sample.map((s) => s.groupId).sort()).toEqual(['acme', 'globex']);
    expect(preview.body.sql).toContain('group_memberships');
    const mismatch = await api.post('/api/traits/preview').send({ definition: 'members' }).expect(400);
    expect(mismatch.body.errors[0].reason).toContain('line 1, col 1');
    clock.set(T0);
  }, 120_000);
});
