import { HttpReceiver } from '../destinations/support/http-receiver';
import { MembershipFixtures } from '../membership/membership-support';
import { waitFor } from '../support/wait-for';
import { accountAudience, createJourney, DAY, EMAIL, JourneyBed } from './journey-support';

const HOUR = 3_600_000;

async function setTraits(bed: JourneyBed, f: MembershipFixtures, profileId: string, traits: object): Promise<void> {
  await bed.sql.rows('UPDATE profiles SET traits = traits || $2::jsonb WHERE id = $1', [
    profileId,
    JSON.stringify(traits),
  ]);
  await f.changed(profileId);
}

/** The seeds' other programs, re-entry rules, pause/activate and versioned edits, on a manual clock. */
describe('journeys: programs and lifecycle', () => {
  let bed: JourneyBed;

  beforeAll(async () => {
    bed = await JourneyBed.start();
  });

  afterAll(() => bed.close());

  it('follows a cart drop-off with an email naming the products left in the cart', async () => {
    const { ws, f, api } = await bed.workspace();
    const audienceId = await f.audience(
      'cart-drop-off',
      'performed "Product Added" then not performed "Order Completed" within 1 hour',
    );
    const email = await api.createEmail(EMAIL);
    const journeyId = await createJourney(bed.app, ws.apiToken, {
      key: 'cart-follow-up',
      name: 'Cart follow-up',
      entry: { audience: 'cart-drop-off' },
      exit: { when: 'performed "Order Completed" within 1 day' },
      steps: [
        {
          id: 'remind',
          type: 'send',
          destination: email,
          subject: 'Still thinking about {{ entry_event.properties.products | map: "name" | join: " and " }}?',
          text: '{% for p in entry_event.properties.products %}{{ p.name }} ({{ p.price }}) {% endfor %}',
        },
      ],
    });
    const shopper = await f.profile({ traits: { email: 'shopper@example.test' } });
    const buyer = await f.profile({ traits: { email: 'buyer@example.test' } });
    const products = [
      { name: 'Trail shoes', price: 120 },
      { name: 'Rain jacket', price: 80 },
    ];
    await bed.track(f, shopper, 'Product Added', { products });
    await bed.track(f, buyer, 'Product Added', { products: [{ name: 'Socks', price: 9 }] });
    bed.clock.advance(10 * 60_000);
    await bed.track(f, buyer, 'Order Completed', { total: 9 });

    // An hour later the drop-off audience is computed again (as its schedule would) and the ledger starts the run.
    bed.clock.advance(HOUR);
    await api.post(`/api/audiences/${audienceId}/compute`).expect(202);
    await waitFor(async () => (await f.members(audienceId)).length === 1, { what: 'the drop-off audience' });
    await waitFor(async () => (await bed.engine().sweep()).admitted === 0 && (await bed.runs(journeyId)).length === 1, {
      what: 'the run',
    });
    await waitFor(() => bed.smtp.to('shopper@example.test').length === 1, { what: 'the reminder' });
    const [mail] = bed.smtp.to('shopper@example.test');
    expect(mail!.subject).toBe('Still thinking about Trail shoes and Rain jacket?');
    expect(mail!.text).toContain('Trail shoes (120) Rain jacket (80)');
    const [run] = await bed.runs(journeyId);
    expect(run!.entry_event).toMatchObject({ name: 'Product Added', properties: { products } });
    expect(bed.smtp.to('buyer@example.test')).toEqual([]);
  });

  it('applies re-entry rules: never, after_exit, after 30 days', async () => {
    const { ws, f } = await bed.workspace();
    const trial = await f.audience('trial', 'trait plan = "trial"');
    const rules = { never: 'never', afterExit: 'after_exit', after30: { after: { amount: 30, unit: 'days' } } };
    const ids: Record<string, string> = {};
    for (const [name, reentry] of Object.entries(rules)) {
      ids[name] = await createJourney(bed.app, ws.apiToken, {
        key: `reentry-${name.toLowerCase()}`,
        name,
        entry: { audience: 'trial' },
        reentry,
        steps: [{ id: 'done', type: 'exit' }],
      });
    }
    const person = await f.profile({ traits: { plan: 'free' } });
    const counts = async (): Promise<Record<string, number>> => {
      const entries = await Promise.all(
        Object.entries(ids).map(async ([name, id]): Promise<[string, number]> => [name, (await bed.runs(id)).length]),
      );
      return Object.fromEntries(entries);
    };
    const cycle = async (expected: Record<string, number>) => {
      await setTraits(bed, f, person, { plan: 'trial' });
      await waitFor(async () => JSON.stringify(await counts()) === JSON.stringify(expected), {
        what: `runs ${JSON.stringify(expected)}`,
      });
      await setTraits(bed, f, person, { plan: 'free' });
      await waitFor(async () => (await f.members(trial)).length === 0, { what: 'the exit' });
    };
    await cycle({ never: 1, afterExit: 1, after30: 1 });
    bed.clock.advance(DAY);
    await cycle({ never: 1, afterExit: 2, after30: 1 });
    bed.clock.advance(31 * DAY);
    await cycle({ never: 1, afterExit: 3, after30: 2 });
  });

  it('pausing stops timers and sends; activating resumes them', async () => {
    const { ws, f, api } = await bed.workspace();
    await f.audience('paused-entry', 'performed "Signed Up"');
    const email = await api.createEmail(EMAIL);
    const journeyId = await createJourney(bed.app, ws.apiToken, {
      key: 'pausable',
      name: 'Pausable',
      entry: { audience: 'paused-entry' },
      steps: [
        { id: 'wait', type: 'wait', duration: { amount: 1, unit: 'days' }, next: 'hello' },
        { id: 'hello', type: 'send', destination: email, subject: 'A day in' },
      ],
    });
    const person = await f.profile({ traits: { email: 'pause@example.test' } });
    await bed.track(f, person, 'Signed Up');
    await bed.waitForRun(journeyId, person, (r) => r.step_id === 'wait', 'the wait');
    await api.post(`/api/journeys/${journeyId}/pause`).expect(200);
    await bed.advance(2 * DAY);
    await bed.advance(60_000);
    expect((await bed.runOf(journeyId, person))!.step_id).toBe('wait');
    expect(bed.smtp.to('pause@example.test')).toEqual([]);

    await api.post(`/api/journeys/${journeyId}/activate`).expect(200);
    await bed.advance(0);
    await waitFor(() => bed.smtp.to('pause@example.test').length === 1, { what: 'the email after activation' });
    expect((await bed.runOf(journeyId, person))!.status).toBe('completed');
  });

  it('a paused journey holds new entrants and starts them on activation, with their entry event', async () => {
    const { ws, f, api } = await bed.workspace();
    await f.audience('held-entry', 'performed "Signed Up"');
    const email = await api.createEmail(EMAIL);
    const journeyId = await createJourney(bed.app, ws.apiToken, {
      key: 'holds-entrants',
      name: 'Holds entrants',
      entry: { audience: 'held-entry' },
      steps: [
        { id: 'wait', type: 'wait', duration: { amount: 1, unit: 'days' }, next: 'hello' },
        { id: 'hello', type: 'send', destination: email, subject: 'A day into {{ entry_event.properties.plan }}' },
      ],
    });
    await api.post(`/api/journeys/${journeyId}/pause`).expect(200);
    const person = await f.profile({ traits: { email: 'held@example.test' } });
    await bed.track(f, person, 'Signed Up', { plan: 'Pro' });
    await waitFor(
      async () =>
        (await bed.sql.count('SELECT count(*) FROM profile_changes WHERE $1 = ANY(profile_ids)', [person])) === 0,
      { what: 'the entry to be evaluated' },
    );
    await bed.advance(3 * DAY);
    expect(await bed.runs(journeyId)).toEqual([]);

    // Activation starts the held entrant now: its wait counts from here, not from its entry.
    await api.post(`/api/journeys/${journeyId}/activate`).expect(200);
    const activatedAt = bed.clock.now().getTime();
    await bed.advance(0);
    const run = await bed.waitForRun(journeyId, person, (r) => r.step_id === 'wait', 'the held entrant to start');
    expect(run.entry_event).toMatchObject({ name: 'Signed Up', properties: { plan: 'Pro' } });
    const [started] = await bed.sql.rows<{ started_at: Date }>('SELECT started_at FROM journey_runs WHERE id = $1', [
      run.id,
    ]);
    expect(started!.started_at.getTime()).toBe(activatedAt);
    await bed.advance(DAY / 2);
    expect(bed.smtp.to('held@example.test')).toEqual([]);
    await bed.advance(DAY / 2 + 60_000);
    await waitFor(() => bed.smtp.to('held@example.test').length === 1, { what: 'the email a day after activation' });
    expect(bed.subjects('held@example.test')).toEqual(['A day into Pro']);
  });

  it('an edit makes a new version; runs keep the version they entered with', async () => {
    const { ws, f, api } = await bed.workspace();
    await f.audience('versioned-entry', 'performed "Signed Up"');
    const email = await api.createEmail(EMAIL);
    const steps = (subject: string) => [
      { id: 'wait', type: 'wait', duration: { amount: 1, unit: 'days' }, next: 'hello' },
      { id: 'hello', type: 'send', destination: email, subject },
    ];
    const journeyId = await createJourney(bed.app, ws.apiToken, {
      key: 'versioned',
      name: 'Versioned',
      entry: { audience: 'versioned-entry' },
      steps: steps('First version'),
    });
    const early = await f.profile({ traits: { email: 'early@example.test' } });
    await bed.track(f, early, 'Signed Up');
    await bed.waitForRun(journeyId, early, (r) => r.step_id === 'wait', 'the first run');

    const edited = await api
      .patch(`/api/journeys/${journeyId}`)
      .send({ steps: steps('Second version') })
      .expect(200);
    expect(edited.body.version).toBe(2);
    const late = await f.profile({ traits: { email: 'late@example.test' } });
    await bed.track(f, late, 'Signed Up');
    await bed.waitForRun(journeyId, late, (r) => r.step_id === 'wait', 'the second run');

    await bed.advance(DAY + 60_000);
    await waitFor(
      () => bed.smtp.to('early@example.test').length === 1 && bed.smtp.to('late@example.test').length === 1,
      {
        what: 'both emails',
      },
    );
    expect(bed.subjects('early@example.test')).toEqual(['First version']);
    expect(bed.subjects('late@example.test')).toEqual(['Second version']);
    expect((await bed.runOf(journeyId, early))!.version).toBe(1);
    expect((await bed.runOf(journeyId, late))!.version).toBe(2);
  });

  it('loops a monthly metrics email to each active account’s owner, one run per account, while it stays active', async () => {
    const { ws, f, api } = await bed.workspace();
    await accountAudience(f, 'active-accounts', 'trait status = "active"');
    const email = await api.createEmail(EMAIL);
    const journeyId = await createJourney(bed.app, ws.apiToken, {
      key: 'monthly-metrics',
      name: 'Monthly metrics',
      entry: { audience: 'active-accounts' },
      exit: { onAudienceExit: true },
      recipients: 'trait role = "owner"',
      steps: [
        {
          id: 'metrics',
          type: 'send',
          destination: email,
          subject: '{{ account.traits.name }}: your month, {{ traits.name }}',
          text: '{{ account.traits.name }} has {{ account.members }} members.',
          next: 'month',
        },
        { id: 'month', type: 'wait', duration: { amount: 30, unit: 'days' }, next: 'metrics' },
      ],
    });
    const olga = await f.profile({ traits: { email: 'olga@acme.test', name: 'Olga', role: 'owner' } });
    const mike = await f.profile({ traits: { email: 'mike@acme.test', name: 'Mike', role: 'engineer' } });
    const gina = await f.profile({ traits: { email: 'gina@globex.test', name: 'Gina', role: 'owner' } });
    const acme = await bed.account(f, 'acme', { name: 'Acme', status: 'trial' }, [olga, mike]);
    const globex = await bed.account(f, 'globex', { name: 'Globex', status: 'trial' }, [gina]);
    await bed.setAccountTraits(f, acme, { status: 'active' }, olga);
    await bed.setAccountTraits(f, globex, { status: 'active' }, gina);

    const months = (address: string) => bed.smtp.to(address).length;
    await waitFor(() => months('olga@acme.test') === 1 && months('gina@globex.test') === 1, {
      what: 'the first month to each owner',
    });
    // One run per account, not per member: the account is the run's subject.
    expect((await bed.runs(journeyId)).map((r) => r.profile_id).sort()).toEqual([acme, globex].sort());
    expect(bed.subjects('olga@acme.test')).toEqual(['Acme: your month, Olga']);
    expect(bed.smtp.to('olga@acme.test')[0]!.text).toContain('Acme has 2 members.');

    for (let month = 2; month <= 3; month++) {
      await bed.advance(30 * DAY + 60_000);
      await waitFor(() => months('olga@acme.test') === month && months('gina@globex.test') === month, {
        what: `month ${month}`,
      });
    }
    // A member's change (an event, an identify) brings the account's run back to its step: no extra email.
    await bed.track(f, mike, 'Page Viewed');
    await bed.advance(60_000);

    // Acme is no longer active: its run ends with the audience, Globex goes on.
    await bed.setAccountTraits(f, acme, { status: 'churned' }, olga);
    await bed.waitForRun(journeyId, acme, (r) => r.status === 'exited', 'the Acme run to end with the audience');
    await bed.advance(30 * DAY + 60_000);
    await waitFor(() => months('gina@globex.test') === 4, { what: 'the fourth month to Globex' });
    await bed.advance(30 * DAY + 60_000);
    await waitFor(() => months('gina@globex.test') === 5, { what: 'the fifth month to Globex' });
    expect(months('olga@acme.test')).toBe(3);
    expect(months('mike@acme.test')).toBe(0);
    // Exactly one email per owner per month: one delivery per run, step and recipient.
    const deliveries = await bed.sql.rows<{ recipient_id: string; n: number }>(
      `SELECT d.recipient_id, count(*)::int AS n FROM deliveries d JOIN journey_runs r ON r.id = d.journey_run_id
       WHERE r.journey_id = $1 GROUP BY d.recipient_id ORDER BY n`,
      [journeyId],
    );
    expect(deliveries).toEqual([
      { recipient_id: olga, n: 3 },
      { recipient_id: gina, n: 5 },
    ]);
  });

  it('sends a journey step to a webhook as a Journey Message with the entry event', async () => {
    const { ws, f, api } = await bed.workspace();
    const hook = await HttpReceiver.start();
    try {
      await f.audience('trial-started', 'performed "Trial Started"');
      const destination = await api.createWebhook({ url: hook.url, secret: 'webhook-secret-0123456789' });
      const journeyId = await createJourney(bed.app, ws.apiToken, {
        key: 'crm-sync',
        name: 'CRM sync',
        entry: { audience: 'trial-started' },
        steps: [{ id: 'notify', type: 'send', destination }],
      });
      const person = await f.profile({ traits: { plan: 'trial' } });
      await bed.track(f, person, 'Trial Started', { source: 'pricing page' });
      await waitFor(() => hook.requests.length === 1, { what: 'the webhook call' });
      const body = JSON.parse(hook.requests[0]!.body) as Record<string, unknown>;
      expect(body).toMatchObject({
        type: 'track',
        event: 'Journey Message',
        properties: {
          journey_key: 'crm-sync',
          step: 'notify',
          entry_event: { name: 'Trial Started', properties: { source: 'pricing page' } },
        },
        context: { personas: { computation_class: 'journey', computation_id: journeyId, profile_id: person } },
      });
    } finally {
      await hook.close();
    }
  });

  it('with includeCurrentMembers, the first activation starts a run for every current member', async () => {
    const { ws, f, api } = await bed.workspace();
    const vip = await f.audience('vip', 'trait tier = "gold"');
    const email = await api.createEmail(EMAIL);
    const member = await f.profile({ traits: { email: 'gold@example.test', tier: 'gold' } });
    await f.profile({ traits: { email: 'silver@example.test', tier: 'silver' } });
    await f.changed(member);
    await waitFor(async () => (await f.members(vip)).length === 1, { what: 'the current member' });
    const journeyId = await createJourney(bed.app, ws.apiToken, {
      key: 'welcome-existing',
      name: 'Welcome existing members',
      entry: { audience: 'vip', includeCurrentMembers: true },
      steps: [{ id: 'hello', type: 'send', destination: email, subject: 'Welcome, gold member' }],
    });
    await bed.advance(0);
    await waitFor(() => bed.smtp.to('gold@example.test').length === 1, { what: 'the member email' });
    expect((await bed.runs(journeyId)).map((r) => r.profile_id)).toEqual([member]);
    expect(bed.smtp.to('silver@example.test')).toEqual([]);
    // Activating again (after a pause) starts no second run.
    await api.post(`/api/journeys/${journeyId}/pause`).expect(200);
    await api.post(`/api/journeys/${journeyId}/activate`).expect(200);
    await bed.advance(0);
    expect(await bed.runs(journeyId)).toHaveLength(1);
  });
});
