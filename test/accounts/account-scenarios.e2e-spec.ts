/**
 * The onboarding seed's account scenarios end to end, through the tracking and management APIs,
 * with an injected clock: (1) "red accounts" — no member active for 14 days — and one email to the
 * account's owner naming the account and its active members; (3) accounts that signed up within 7
 * days and added no teammate.
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

describe('account scenarios (ManualClock)', () => {
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
      async audience(key: string, definition: string): Promise<string> {
        const response = await app
          .http()
          .post('/api/audiences')
          .set('authorization', auth)
          .send({ key, name: key, level: 'account', definition, refreshIntervalSeconds: 60 });
        if (response.status !== 201) throw new Error(`${response.status} ${JSON.stringify(response.body)}`);
        return response.body.id as string;
      },
    };
  }

  async function audienceState(audienceId: string): Promise<{ status: string; members: string[] }> {
    const [row] = await sql.rows<{ status: string; version: number }>(
      'SELECT status::text, version FROM audiences WHERE id = $1',
      [audienceId],
    );
    const members = await sql.rows<{ group_id: string }>(
      `SELECT g.group_id FROM audience_members m JOIN groups g ON g.id = m.profile_id
       WHERE m.audience_id = $1 ORDER BY g.group_id`,
      [audienceId],
    );
    return { status: row!.status, members: members.map((m) => m.group_id) };
  }

  /** A manual computation at the clock's instant (what the audience's scheduler does every interval). */
  async function computed(api: ReturnType<typeof client>, audienceId: string): Promise<string[]> {
    const response = await api.post(`/api/audiences/${audienceId}/compute`).expect(202);
    await finished(app, QueueName.Compute, response.body.jobId as string);
    return (await audienceState(audienceId)).members;
  }

  it('scenario 1: red accounts, entered when no member was active for 14 days, left on a login; one email to the owner', async () => {
    const ws = await createWorkspace(app);
    const api = client(ws);
    const person = (userId: string, email: string, role: string, groupId: string, name: string) => [
      { type: 'identify', userId, traits: { email, role }, timestamp: at(0).toISOString() },
      { type: 'group', userId, groupId, traits: { name, plan: 'Business' }, timestamp: at(0).toISOString() },
      { type: 'track', userId, event: 'Login', timestamp: at(0).toISOString() },
    ];
    await api.track([
      ...person('acme-owner', 'owner@acme.test', 'owner', 'acme', 'Acme Inc'),
      ...person('acme-dev', 'dev@acme.test', 'developer', 'acme', 'Acme Inc'),
      ...person('globex-owner', 'owner@globex.test', 'owner', 'globex', 'Globex'),
    ]);
    // The tracking API reads its clock too: a timestamp after it would be taken for clock skew.
    clock.set(at(10));
    await api.track([{ type: 'track', userId: 'globex-owner', event: 'Login', timestamp: at(10).toISOString() }]);

    clock.set(at(11));
    const red = await api.audience('red-accounts', 'no member active within 14 days');
    await waitFor(async () => (await audienceState(red)).status === 'ready', { what: 'first computation' });
    expect((await audienceState(red)).members).toEqual([]);

    const destination = await api
      .post('/api/destinations')
      .send({
        type: 'email',
        name: 'Red account outreach',
        config: {
          from: 'CS <cs@personae.test>',
          subject: '{{ account.traits.name }} has gone quiet',
          text: 'Hi {{ traits.role }}: {{ account.groupId }} has {{ account.activeMembers14d }} active of {{ account.members }} members.',
        },
      })
      .expect(201);
    const connection = await api
      .post(`/api/audiences/${red}/destinations`)
      .send({ destinationId: destination.body.id, recipients: 'trait role = "owner"' })
      .expect(201);
    expect(connection.body.recipients).toBe('trait role = "owner"');

    // Day 15: acme's last activity is 15 days old, globex's 5.
    clock.set(at(15));
    expect(await computed(api, red)).toEqual(['acme']);

    await waitFor(() => smtp.to('owner@acme.test').length === 1, { what: "the owner's email" });
    const [mail] = smtp.to('owner@acme.test');
    expect(mail!.subject).toBe('Acme Inc has gone quiet');
    expect(mail!.text).toContain('Hi owner: acme has 0 active of 2 members.');
    expect(smtp.to('dev@acme.test')).toHaveLength(0);
    expect(smtp.to('owner@globex.test')).toHaveLength(0);

    const account = await api.get('/api/accounts/acme').expect(200);
    expect(account.body).toMatchObject({ groupId: 'acme', memberCount: 2, activeMembers14d: 0 });
    expect(account.body.audiences).toEqual([expect.objectContaining({ audienceKey: 'red-accounts' })]);

    // A member logs in: the account leaves in real time, without a computation.
    await api.track([{ type: 'track', userId: 'acme-dev', event: 'Login', timestamp: at(15).toISOString() }]);
    await waitFor(async () => (await audienceState(red)).members.length === 0, { what: 'acme leaves' });
    const ledger = await sql.rows<{ kind: string }>(
      'SELECT kind::text FROM audience_transitions WHERE audience_id = $1 ORDER BY id',
      [red],
    );
    expect(ledger.map((t) => t.kind)).toEqual(['entered', 'exited']);

    // Computing again changes nothing and sends nothing more: exactly one email.
    expect(await computed(api, red)).toEqual([]);
    const deliveries = await sql.rows<{ status: string }>(
      'SELECT status::text FROM deliveries WHERE destination_id = $1',
      [destination.body.id],
    );
    expect(deliveries).toEqual([{ status: 'sent' }]);
    expect(smtp.to('owner@acme.test')).toHaveLength(1);
    clock.set(T0);
  });

  it('scenario 3: signed up within 7 days and no teammate added', async () => {
    const ws = await createWorkspace(app);
    const api = client(ws);
    const join = (userId: string, groupId: string, day: number) => ({
      type: 'group',
      userId,
      groupId,
      traits: { name: groupId },
      timestamp: at(day).toISOString(),
    });
    await api.track([
      join('solo-1', 'solo', 0),
      join('team-1', 'team', 0),
      join('team-2', 'team', 1),
      join('old-1', 'old', -10),
    ]);
    clock.set(at(2));
    const lonely = await api.audience('lonely-new-accounts', 'created within 7 days and members at most 1');
    await waitFor(async () => (await audienceState(lonely)).status === 'ready', { what: 'first computation' });
    expect((await audienceState(lonely)).members).toEqual(['solo']);

    // The account's first group call decides its creation, whatever order calls arrive in.
    const list = await api.get('/api/accounts?limit=2').expect(200);
    const items = list.body.items as { groupId: string }[];
    expect(items.map((a) => a.groupId)).toEqual(['old', 'solo']);
    expect(list.body.items[0].createdAt).toBe(at(-10).toISOString());
    const next = await api.get(`/api/accounts?limit=2&cursor=${list.body.nextCursor}`).expect(200);
    expect(next.body).toMatchObject({ items: [{ groupId: 'team', memberCount: 2 }], nextCursor: null });

    // A teammate joins: a group call re-evaluates the account in real time.
    await api.track([join('solo-2', 'solo', 2)]);
    await waitFor(async () => (await audienceState(lonely)).members.length === 0, { what: 'solo leaves' });

    const detail = await api.get('/api/accounts/solo').expect(200);
    const members = detail.body.members as { identities: { value: string }[] }[];
    expect(members.map((m) => m.identities[0]?.value)).toEqual(['solo-1', 'solo-2']);
    clock.set(T0);
  });

  it('backfills an account audience once per member with an email by default, and refuses webhooks', async () => {
    const ws = await createWorkspace(app);
    const api = client(ws);
    clock.set(at(1));
    await api.track([
      { type: 'identify', userId: 'ann', traits: { email: 'ann@initech.test' }, timestamp: at(0).toISOString() },
      { type: 'identify', userId: 'bob', traits: { email: 'bob@initech.test' }, timestamp: at(0).toISOString() },
      ...['ann', 'bob', 'no-email'].map((userId) => ({
        type: 'group',
        userId,
        groupId: 'initech',
        traits: { name: 'Initech' },
        timestamp: at(0).toISOString(),
      })),
    ]);
    const teams = await api.audience('teams', 'members at least 2');
    await waitFor(async () => (await audienceState(teams)).members.join() === 'initech', { what: 'initech enters' });
    const email = await api
      .post('/api/destinations')
      .send({ type: 'email', name: 'Team mail', config: { from: 'cs@personae.test', subject: 'Hi', text: 'Hi' } })
      .expect(201);
    const connected = await api
      .post(`/api/audiences/${teams}/destinations`)
      .send({ destinationId: email.body.id, backfill: true })
      .expect(201);
    expect(connected.body).toMatchObject({ backfilled: 2, recipients: null });
    await waitFor(() => smtp.to('ann@initech.test').length === 1 && smtp.to('bob@initech.test').length === 1, {
      what: 'one email to each member with an address',
    });
    const rows = await sql.rows<{ recipients: number; transitions: number }>(
      `SELECT count(DISTINCT recipient_id)::int AS recipients, count(DISTINCT transition_id)::int AS transitions
       FROM deliveries WHERE destination_id = $1`,
      [email.body.id],
    );
    expect(rows).toEqual([{ recipients: 2, transitions: 1 }]);

    // A webhook destination as stored (its API wants a reachable receiver; only the connect is tested here).
    const [hookRow] = await sql.rows<{ id: string }>(
      `INSERT INTO destinations (id, workspace_id, type, name, config, updated_at)
       VALUES (gen_random_uuid(), $1, 'webhook', 'Hook', '{"url": "https://hooks.example.test/x"}', now()) RETURNING id`,
      [ws.workspaceId],
    );
    const hook = { body: { id: hookRow!.id } };
    const refused = await api
      .post(`/api/audiences/${teams}/destinations`)
      .send({ destinationId: hook.body.id })
      .expect(400);
    expect(JSON.stringify(refused.body)).toMatch(/email destinations only/);
    const profileAudience = await api
      .post('/api/audiences')
      .send({ key: 'people', name: 'people', definition: 'trait email exists' })
      .expect(201);
    await api
      .post(`/api/audiences/${profileAudience.body.id}/destinations`)
      .send({ destinationId: email.body.id, recipients: 'trait role = "owner"' })
      .expect(400);
    const badRecipients = await api
      .post(`/api/audiences/${teams}/destinations`)
      .send({ destinationId: hook.body.id, recipients: 'members at least 2' })
      .expect(400);
    expect(badRecipients.body).toMatchObject({ statusCode: 400 });
    clock.set(T0);
  });

  it('answers 400 with a line and column for a profile condition at account level, 404 for an unknown account', async () => {
    const ws = await createWorkspace(app);
    const api = client(ws);
    const response = await api
      .post('/api/audiences')
      .send({ key: 'bad', name: 'bad', level: 'account', definition: 'trait plan = "Pro" and inactive 14 days' })
      .expect(400);
    expect(JSON.stringify(response.body)).toMatch(/line 1, col 24: `inactive 14` is a condition on a person/);
    const profileLevel = await api
      .post('/api/audiences')
      .send({ key: 'bad2', name: 'bad2', definition: 'members at least 2' })
      .expect(400);
    expect(JSON.stringify(profileLevel.body)).toMatch(/line 1, col 1: .*condition on an account/);
    await api
      .post('/api/audiences')
      .send({ key: 'x', name: 'x', level: 'team', definition: 'trait a = 1' })
      .expect(400);
    await api.get('/api/accounts/nobody').expect(404);
    const preview = await api
      .post('/api/audiences/preview')
      .send({ level: 'account', definition: 'members at least 1' })
      .expect(200);
    expect(preview.body).toMatchObject({ count: 0, sample: [] });
  });
});
