import { waitFor } from '../support/wait-for';
import { accountAudience, createJourney, DAY, EMAIL, JourneyBed, RunsBody } from './journey-support';

/**
 * Account journeys: an account audience as entry, one run per account, conditions about the
 * account, and emails to the recipients among its members (the journey's or the step's own).
 */
describe('journeys: account level', () => {
  let bed: JourneyBed;

  beforeAll(async () => {
    bed = await JourneyBed.start();
  });

  afterAll(() => bed.close());

  it('validates conditions at account level and recipients as a member condition', async () => {
    const { f, api } = await bed.workspace();
    await accountAudience(f, 'paying', 'trait plan = "Business"');
    await f.audience('signed-up', 'performed "Signed Up"');
    const email = await api.createEmail(EMAIL);
    const hook = await api.createWebhook({ url: 'https://hooks.example.test/x', secret: 'webhook-secret-0123456789' });
    const journey = (overrides: Record<string, unknown>) => ({
      key: `j-${Math.random().toString(36).slice(2, 8)}`,
      name: 'Account journey',
      entry: { audience: 'paying' },
      steps: [{ id: 'hello', type: 'send', destination: email }],
      ...overrides,
    });
    const created = await api
      .post('/api/journeys')
      .send(
        journey({
          exit: { when: 'any member performed "Destination Enabled"' },
          recipients: 'trait role = "owner"',
          steps: [
            { id: 'team', type: 'branch', condition: 'members at least 2', then: 'all', else: 'hello' },
            { id: 'all', type: 'send', destination: email, recipients: 'trait email exists' },
            { id: 'hello', type: 'send', destination: email },
          ],
        }),
      )
      .expect(201);
    expect(created.body).toMatchObject({
      level: 'account',
      recipients: 'trait role = "owner"',
      exit: { when: 'any member performed "Destination Enabled"' },
    });

    const refused = async (body: Record<string, unknown>) =>
      (await api.post('/api/journeys').send(body).expect(400)).body.message as string;
    // A condition about a person in an account journey, and one about an account in a person's.
    expect(await refused(journey({ exit: { when: 'performed "Destination Enabled"' } }))).toMatch(
      /^exit\.when: line 1, col 1: .*condition on a person, not on an account/,
    );
    expect(await refused(journey({ recipients: 'members at least 2' }))).toMatch(/^recipients: line 1, col 1: /);
    expect(await refused(journey({ entry: { audience: 'signed-up' }, recipients: 'trait role = "owner"' }))).toBe(
      'recipients: applies to journeys whose entry audience is an account audience only',
    );
    expect(
      await refused(
        journey({
          entry: { audience: 'signed-up' },
          steps: [{ id: 'hello', type: 'send', destination: email, recipients: 'trait role = "owner"' }],
        }),
      ),
    ).toBe('steps[0].recipients: applies to journeys whose entry audience is an account audience only');
    expect(await refused(journey({ steps: [{ id: 'hello', type: 'send', destination: hook }] }))).toBe(
      `steps[0].destination: an account journey sends email to the account's recipients; "${hook}" is a webhook destination`,
    );
  });

  it('waits for an account condition met by a member, branches on the account, and emails each recipient once', async () => {
    const { ws, f, api } = await bed.workspace();
    await accountAudience(f, 'new-accounts', 'trait stage = "onboarding"');
    const email = await api.createEmail(EMAIL);
    const journeyId = await createJourney(bed.app, ws.apiToken, {
      key: 'account-onboarding',
      name: 'Account onboarding',
      entry: { audience: 'new-accounts' },
      exit: { when: 'any member performed "Destination Enabled"' },
      recipients: 'trait role = "owner"',
      steps: [
        {
          id: 'wait-source',
          type: 'wait_until',
          condition: 'any member performed "Source Connected"',
          timeout: { amount: 7, unit: 'days' },
          next: 'connected',
          timeoutNext: 'team',
        },
        { id: 'team', type: 'branch', condition: 'members at least 2', then: 'everyone', else: 'owner' },
        {
          id: 'everyone',
          type: 'send',
          destination: email,
          recipients: 'trait email exists',
          subject: '{{ account.traits.name }} team: connect a source, {{ traits.name }}',
        },
        { id: 'owner', type: 'send', destination: email, subject: 'Connect a source for {{ account.traits.name }}' },
        { id: 'connected', type: 'exit' },
      ],
    });
    const person = (email: string, name: string, role: string) => f.profile({ traits: { email, name, role } });
    const ann = await person('ann@team.test', 'Ann', 'owner');
    const bob = await person('bob@team.test', 'Bob', 'engineer');
    const noEmail = await f.profile({ traits: { name: 'Nobody', role: 'engineer' } });
    const sam = await person('sam@solo.test', 'Sam', 'owner');
    const pia = await person('pia@fast.test', 'Pia', 'owner');
    const team = await bed.account(f, 'team', { name: 'Team Co', stage: 'new' }, [ann, bob, noEmail]);
    const solo = await bed.account(f, 'solo', { name: 'Solo Ltd', stage: 'new' }, [sam]);
    const fast = await bed.account(f, 'fast', { name: 'Fast Inc', stage: 'new' }, [pia]);
    for (const [account, member] of [
      [team, ann],
      [solo, sam],
      [fast, pia],
    ] as const) {
      await bed.setAccountTraits(f, account, { stage: 'onboarding' }, member);
      await bed.waitForRun(journeyId, account, (r) => r.step_id === 'wait-source', 'the account run');
    }
    // A member of Fast connects a source: the account's condition holds in real time.
    bed.clock.advance(DAY);
    await bed.track(f, pia, 'Source Connected');
    await bed.waitForRun(journeyId, fast, (r) => r.status === 'completed', 'Fast to leave the wait');

    await bed.advance(7 * DAY);
    await waitFor(
      () =>
        bed.smtp.to('ann@team.test').length === 1 &&
        bed.smtp.to('bob@team.test').length === 1 &&
        bed.smtp.to('sam@solo.test').length === 1,
      { what: 'the nudges' },
    );
    expect(bed.subjects('ann@team.test')).toEqual(['Team Co team: connect a source, Ann']);
    expect(bed.subjects('bob@team.test')).toEqual(['Team Co team: connect a source, Bob']);
    expect(bed.subjects('sam@solo.test')).toEqual(['Connect a source for Solo Ltd']);
    expect(bed.smtp.to('pia@fast.test')).toEqual([]);

    // Sweeping again sends nothing more: one delivery per run, step and recipient.
    await bed.advance(60_000);
    const rows = await bed.sql.rows<{ recipient_id: string }>(
      `SELECT d.recipient_id FROM deliveries d JOIN journey_runs r ON r.id = d.journey_run_id
       WHERE r.journey_id = $1 ORDER BY d.recipient_id`,
      [journeyId],
    );
    expect(rows.map((r) => r.recipient_id)).toEqual([ann, bob, sam].sort());

    const runs = await api.get(`/api/journeys/${journeyId}/runs`).expect(200);
    const teamRun = (runs.body as { items: (RunsBody['items'][number] & { profileId: string })[] }).items.find(
      (r) => r.profileId === team,
    );
    expect(teamRun!.history.map((h) => `${h.stepId}:${h.outcome}`)).toEqual([
      'wait-source:timeout',
      'team:then',
      'everyone:sent',
    ]);
    expect((await bed.runOf(journeyId, solo))!.status).toBe('completed');
  });
});
