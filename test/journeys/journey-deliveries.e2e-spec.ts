import { DeliveryQueuesService } from '../../src/queues/delivery-queues.service';
import { waitFor } from '../support/wait-for';
import { accountAudience, createJourney, EMAIL, JourneyBed, ReportBody } from './journey-support';

interface DeliveryItem {
  id: string;
  status: string;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  kind: string;
  transitionId: string | null;
  audienceKey: string | null;
  profileId: string;
  journey: { key: string; step: string; runId: string; version: number } | null;
}

/**
 * Journey sends and audience syncs share the deliveries ledger: the frequency cap holds or skips
 * audience-sync emails when they are sent, and a destination's delivery list shows journey sends.
 */
describe('journeys: deliveries and the cap on audience syncs', () => {
  let bed: JourneyBed;

  beforeAll(async () => {
    bed = await JourneyBed.start();
  });

  afterAll(() => bed.close());

  /** A person entering two audiences, each synced to email: two messages at once. */
  async function twoSyncs(mode: 'skip' | 'wait', address: string) {
    const { f, api } = await bed.cappedWorkspace(mode);
    const email = await api.createEmail(EMAIL);
    for (const [key, definition] of [
      ['pro', 'trait plan = "pro"'],
      ['gold', 'trait tier = "gold"'],
    ] as const) {
      await api.connect(await f.audience(key, definition), email);
    }
    const person = await f.profile({ traits: { email: address, plan: 'pro', tier: 'gold' } });
    await f.changed(person);
    const list = async () =>
      ((await api.get(`/api/destinations/${email}/deliveries`).expect(200)).body as { items: DeliveryItem[] }).items;
    return { f, api, email, person, list };
  }

  const settled = (items: DeliveryItem[]) =>
    items.length === 2 && items.every((d) => !['queued', 'sending'].includes(d.status));

  it('skips an audience-sync email over the cap and records why', async () => {
    const { list } = await twoSyncs('skip', 'synced-skip@example.test');
    const items = await waitFor(async () => ((items) => (settled(items) ? items : undefined))(await list()), {
      what: 'both deliveries to settle',
    });
    expect(items.map((d) => d.status).sort()).toEqual(['sent', 'skipped']);
    expect(items.find((d) => d.status === 'skipped')!.lastError).toBe(
      'frequency cap: 1 messages to this person within 24 hours',
    );
    expect(bed.smtp.to('synced-skip@example.test')).toHaveLength(1);
  });

  it('holds an audience-sync email over the cap until the window allows it, without spending an attempt', async () => {
    const { list, email } = await twoSyncs('wait', 'synced-wait@example.test');
    const items = await waitFor(async () => ((items) => (settled(items) ? items : undefined))(await list()), {
      what: 'one sent, one held',
    });
    const sent = items.find((d) => d.status === 'sent')!;
    const held = items.find((d) => d.status === 'failed')!;
    expect(held.lastError).toMatch(/^held by the frequency cap: 1 messages to this person within 24 hours, until /);
    expect(held.attempts).toBe(0);
    // Until the first message (counted when it passed the cap) leaves the window.
    const [first] = await bed.sql.rows<{ counted: Date }>(
      'SELECT coalesce(cap_counted_at, sent_at) AS counted FROM deliveries WHERE id = $1',
      [sent.id],
    );
    expect(new Date(held.nextAttemptAt!).getTime()).toBe(first!.counted.getTime() + 24 * 3_600_000 + 1_000);
    expect(bed.smtp.to('synced-wait@example.test')).toHaveLength(1);

    // A day passes (the delivery workers keep real time: the ledger is moved back instead).
    await bed.sql.rows(
      `UPDATE deliveries SET sent_at = sent_at - interval '25 hours', cap_counted_at = cap_counted_at - interval '25 hours'
       WHERE id = $1`,
      [sent.id],
    );
    await bed.sql.rows(`UPDATE deliveries SET next_attempt_at = now() - interval '1 minute' WHERE id = $1`, [held.id]);
    // Its job waits in BullMQ's delayed set until the hold ends: it is brought forward.
    const job = await bed.app.personae.app.get(DeliveryQueuesService).queueFor(email).getJob(held.id);
    expect(await job!.getState()).toBe('delayed');
    await job!.promote();
    await waitFor(() => bed.smtp.to('synced-wait@example.test').length === 2, { what: 'the held email' });
    const after = await waitFor(async () => (await list()).find((d) => d.id === held.id && d.status === 'sent'), {
      what: 'the held delivery to be recorded as sent',
    });
    expect(after.attempts).toBe(1);
  });

  it('caps an account journey’s emails recipient by recipient when they are sent, and reports them as capped', async () => {
    const { ws, f, api } = await bed.cappedWorkspace('skip');
    await accountAudience(f, 'paying', 'trait plan = "Business"');
    const email = await api.createEmail(EMAIL);
    const journeyId = await createJourney(bed.app, ws.apiToken, {
      key: 'two-in-a-row',
      name: 'Two in a row',
      entry: { audience: 'paying' },
      recipients: 'trait role = "owner"',
      steps: [
        { id: 'one', type: 'send', destination: email, subject: 'One', next: 'two' },
        { id: 'two', type: 'send', destination: email, subject: 'Two' },
      ],
    });
    const owner = await f.profile({ traits: { email: 'capped-owner@example.test', role: 'owner' } });
    const account = await bed.account(f, 'capped', { plan: 'Free' }, [owner]);
    await bed.setAccountTraits(f, account, { plan: 'Business' }, owner);
    await bed.waitForRun(journeyId, account, (r) => r.status === 'completed', 'the account run');
    const report = await waitFor(
      async () => {
        const body = (await api.get(`/api/journeys/${journeyId}/report`).expect(200)).body as ReportBody;
        const total = (key: 'sent' | 'capped') => body.steps.reduce((n, step) => n + step[key], 0);
        return total('sent') + total('capped') === 2 ? { sent: total('sent'), capped: total('capped') } : undefined;
      },
      { what: 'both emails to be sent or capped' },
    );
    expect(report).toEqual({ sent: 1, capped: 1 });
    expect(bed.smtp.to('capped-owner@example.test')).toHaveLength(1);
  });

  it("lists journey sends among a destination's deliveries, with the journey, run and step", async () => {
    const { ws, f, api } = await bed.workspace();
    const email = await api.createEmail(EMAIL);
    await f.audience('signed-up', 'performed "Signed Up"');
    const synced = await f.audience('pro', 'trait plan = "pro"');
    await api.connect(synced, email);
    const journeyId = await createJourney(bed.app, ws.apiToken, {
      key: 'welcome',
      name: 'Welcome',
      entry: { audience: 'signed-up' },
      steps: [{ id: 'hello', type: 'send', destination: email, subject: 'Welcome' }],
    });
    const person = await f.profile({ traits: { email: 'listed@example.test', plan: 'pro' } });
    await bed.track(f, person, 'Signed Up');
    await waitFor(() => bed.smtp.to('listed@example.test').length === 2, { what: 'the sync and the journey email' });
    const [run] = await bed.runs(journeyId);
    const items = await waitFor(
      async () => {
        const page = (await api.get(`/api/destinations/${email}/deliveries`).expect(200)).body as {
          items: DeliveryItem[];
        };
        return page.items.every((d) => d.status === 'sent') ? page.items : undefined;
      },
      { what: 'both deliveries as sent' },
    );
    expect(items).toHaveLength(2);
    expect(items.find((d) => d.kind === 'journey')).toMatchObject({
      transitionId: null,
      audienceKey: null,
      profileId: person,
      journey: { key: 'welcome', step: 'hello', runId: run!.id, version: 1 },
    });
    expect(items.find((d) => d.kind === 'entered')).toMatchObject({
      audienceKey: 'pro',
      profileId: person,
      journey: null,
    });
    const filtered = await api.get(`/api/destinations/${email}/deliveries?status=sent&limit=1`).expect(200);
    expect(filtered.body.items).toHaveLength(1);
    expect(filtered.body.nextCursor).not.toBeNull();
  });
});

/**
 * A person's journey email counts toward the cap from the moment its step passed: an audience-sync
 * email checked while the journey email is still on its way (a slow SMTP server holds it) counts it.
 */
describe('journeys: the cap counts a journey email that is still being sent', () => {
  let bed: JourneyBed;

  beforeAll(async () => {
    bed = await JourneyBed.start({}, { delayMs: 4_000 });
  });

  afterAll(() => bed.close());

  it('skips an audience-sync email while the journey email to the same person is in flight', async () => {
    const { ws, f, api } = await bed.cappedWorkspace('skip');
    const email = await api.createEmail(EMAIL);
    await f.audience('signed-up', 'performed "Signed Up"');
    await api.connect(await f.audience('pro', 'trait plan = "pro"'), email);
    await createJourney(bed.app, ws.apiToken, {
      key: 'welcome',
      name: 'Welcome',
      entry: { audience: 'signed-up' },
      steps: [{ id: 'hello', type: 'send', destination: email, subject: 'Welcome' }],
    });
    const person = await f.profile({ traits: { email: 'in-flight@example.test' } });
    await bed.track(f, person, 'Signed Up');
    await waitFor(() => bed.smtp.inFlight === 1, { what: 'the journey email on its way' });

    await bed.sql.rows(`UPDATE profiles SET traits = traits || '{"plan":"pro"}' WHERE id = $1`, [person]);
    await f.changed(person);
    const items = await waitFor(
      async () => {
        const page = (await api.get(`/api/destinations/${email}/deliveries`).expect(200)).body as {
          items: DeliveryItem[];
        };
        return page.items.length === 2 && page.items.every((d) => ['sent', 'skipped'].includes(d.status))
          ? page.items
          : undefined;
      },
      { what: 'both deliveries to settle' },
    );
    expect(items.find((d) => d.kind === 'journey')?.status).toBe('sent');
    expect(items.find((d) => d.kind === 'entered')).toMatchObject({
      status: 'skipped',
      lastError: 'frequency cap: 1 messages to this person within 24 hours',
    });
    expect(bed.smtp.to('in-flight@example.test')).toHaveLength(1);
  });
});
