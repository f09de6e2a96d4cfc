import {
  DELIVERIES_PER_JOB,
  deliveryJobId,
  DeliveryQueuesService,
  DeliveryRef,
} from '../../src/queues/delivery-queues.service';
import { TEST_ADMIN_TOKEN, type TestApp, type WorkspaceCredentials } from '../support/app';
import { waitFor } from '../support/wait-for';
import type { Seed } from './support/seed';
import { SmtpTestServer } from './support/smtp-test-server';
import { Testbed } from './support/testbed';

const TEMPLATE = {
  from: 'Acme <hello@acme.test>',
  replyTo: 'support@acme.test',
  subject: 'Welcome to {{ audience.name }}, {{ traits.name | default: "friend" }}',
  html: '<p>Hi {{ traits.name }}!</p><a href="{{ unsubscribe_url }}">unsubscribe</a>',
  text: 'Hi {{ traits.name | default: "friend" }} ({{ identities.user_id | default: "-" }})',
};

describe('email destinations (SMTP on loopback)', () => {
  let smtp: SmtpTestServer;
  let bed: Testbed;
  let app: TestApp;
  let seed: Seed;
  let ws: WorkspaceCredentials;
  let api: Testbed['api'];

  beforeAll(async () => {
    smtp = await SmtpTestServer.start({
      rejectRecipients: ['nobody@example.test'],
      reply: (mail, attempt) =>
        mail.to.includes('flaky@example.test') && attempt === 1
          ? { code: 451, message: '4.3.0 try again later' }
          : undefined,
    });
    bed = await Testbed.start({ SMTP_URL: smtp.url, PUBLIC_URL: 'https://crm.example.test' }, [() => smtp.close()]);
    ({ app, seed, ws, api } = bed);
  });

  afterAll(() => bed.close());

  async function audienceWithDestination(key: string, config: Record<string, unknown> = TEMPLATE, rate?: number) {
    const audienceId = await seed.audience(ws.workspaceId, key, `Audience ${key}`);
    const destinationId = await api.createEmail(config, rate);
    return { audienceId, destinationId };
  }

  it('sends each entered member exactly one rendered email with RFC 8058 unsubscribe headers', async () => {
    const { audienceId, destinationId } = await audienceWithDestination('welcome');
    await api.connect(audienceId, destinationId);
    const ann = await seed.profile(
      ws.workspaceId,
      { name: 'Ann <b>', email: 'Ann@Example.test' },
      { user_id: 'u-ann' },
    );
    const bob = await seed.profile(ws.workspaceId, { name: 'Bob' }, { email: 'bob@example.test' });
    const [delivery] = await seed.enter(ws.workspaceId, audienceId, ann);
    await seed.enter(ws.workspaceId, audienceId, bob);

    await waitFor(() => smtp.to('ann@example.test').length === 1 && smtp.to('bob@example.test').length === 1, {
      what: 'both emails',
    });
    const [mail] = smtp.to('ann@example.test');
    expect(mail!.subject).toBe('Welcome to Audience welcome, Ann <b>');
    expect(mail!.html).toContain('<p>Hi Ann &lt;b&gt;!</p>');
    expect(mail!.text).toContain('Hi Ann <b> (u-ann)');
    expect(mail!.from).toMatch(/^"?Acme"? <hello@acme\.test>$/);
    expect(mail!.headers.get('reply-to')).toContain('support@acme.test');
    expect(mail!.messageId).toBe(`<${delivery!.id}@acme.test>`);
    const unsubscribe = mail!.headers.get('list-unsubscribe') ?? '';
    expect(unsubscribe).toMatch(/^<https:\/\/crm\.example\.test\/u\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+>$/);
    expect(mail!.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(mail!.html).toContain(unsubscribe.slice(1, -1));

    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 2, { what: 'sent recorded' });
    const detail = await api.get(`/api/destinations/${destinationId}`).expect(200);
    expect(detail.body.counts).toMatchObject({ sent: 2, queued: 0, failed: 0, dead: 0 });
    const page = await api.get(`/api/destinations/${destinationId}/deliveries?status=sent`).expect(200);
    expect(page.body.items).toHaveLength(2);
    expect(page.body.items[0].providerMessageId).toBeTruthy();
    const metrics = (await app.http().get('/metrics').set('authorization', `Bearer ${TEST_ADMIN_TOKEN}`).expect(200))
      .text;
    expect(metrics).toMatch(/^personae_delivery_duration_seconds_count\{type="email",outcome="sent"\} [2-9]\d*$/m);

    // A job delivered again (same id re-added after completion, or a duplicate) sends nothing.
    await seed.enqueue([{ id: delivery!.id, destinationId }]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(smtp.to('ann@example.test')).toHaveLength(1);
  });

  it('cannot be made to inject headers through traits', async () => {
    const { audienceId, destinationId } = await audienceWithDestination('inject', {
      ...TEMPLATE,
      subject: 'Hello {{ traits.name }}',
    });
    await api.connect(audienceId, destinationId);
    const evil = await seed.profile(ws.workspaceId, {
      name: 'Eve\r\nBcc: victim@example.test\r\nX-Evil: 1',
      email: 'eve@example.test',
    });
    const sneaky = await seed.profile(ws.workspaceId, {
      name: 'S',
      email: 'a@example.test\r\nBcc: victim@example.test',
    });
    await seed.enter(ws.workspaceId, audienceId, evil);
    await seed.enter(ws.workspaceId, audienceId, sneaky);
    await waitFor(async () => {
      const c = await seed.statusCounts(destinationId);
      return c.sent === 1 && c.skipped === 1;
    });
    const [mail] = smtp.to('eve@example.test');
    expect(mail!.to).toEqual(['eve@example.test']);
    expect(mail!.subject).toBe('Hello Eve Bcc: victim@example.test X-Evil: 1');
    expect(mail!.headers.has('bcc')).toBe(false);
    expect(mail!.headers.has('x-evil')).toBe(false);
    expect(smtp.to('victim@example.test')).toHaveLength(0);
  });

  it('skips profiles without an email, records suppressed ones, fails on a template error', async () => {
    const { audienceId, destinationId } = await audienceWithDestination('skips', {
      ...TEMPLATE,
      text: 'Plan: {{ traits.plan }}',
    });
    await api.connect(audienceId, destinationId);
    const noEmail = await seed.profile(ws.workspaceId, { name: 'Nomail', plan: 'pro' });
    const suppressed = await seed.profile(ws.workspaceId, { email: 'gone@example.test', plan: 'pro' });
    const noPlan = await seed.profile(ws.workspaceId, { email: 'noplan@example.test', name: 'N' });
    await seed.query(
      `INSERT INTO suppressions (id, workspace_id, email, reason) VALUES (gen_random_uuid(), $1, $2, 'manual')`,
      [ws.workspaceId, 'gone@example.test'],
    );
    for (const p of [noEmail, suppressed, noPlan]) await seed.enter(ws.workspaceId, audienceId, p);
    await waitFor(async () => {
      const c = await seed.statusCounts(destinationId);
      return c.skipped === 1 && c.suppressed === 1 && c.dead === 1;
    });
    const rows = await seed.deliveries(destinationId);
    expect(rows.map((r) => r.last_error).sort()).toEqual([
      'suppressed: manual',
      'template: undefined variable: traits.plan, line:1, col:10',
      'the profile has no email address',
    ]);
    expect(smtp.to('gone@example.test')).toHaveLength(0);
    expect(smtp.to('noplan@example.test')).toHaveLength(0);
  });

  it('backfills current members once with backfill: true, and only later entries without it', async () => {
    const audienceId = await seed.audience(ws.workspaceId, 'backfill');
    const early = await seed.profile(ws.workspaceId, { email: 'early@example.test', name: 'E' });
    const earlier = await seed.profile(ws.workspaceId, { email: 'earlier@example.test', name: 'E' });
    await seed.transition(ws.workspaceId, audienceId, early, 'entered', new Date(Date.now() - 60_000));
    await seed.transition(ws.workspaceId, audienceId, earlier, 'entered', new Date(Date.now() - 60_000));
    const withBackfill = await api.createEmail({ ...TEMPLATE, subject: 'with backfill' });
    const without = await api.createEmail({ ...TEMPLATE, subject: 'without backfill' });
    expect((await api.connect(audienceId, withBackfill, true)).backfilled).toBe(2);
    expect((await api.connect(audienceId, without, false)).backfilled).toBe(0);
    const late = await seed.profile(ws.workspaceId, { email: 'late@example.test', name: 'L' });
    await seed.enter(ws.workspaceId, audienceId, late, new Date(Date.now() + 1_000));

    const subjects = (address: string) =>
      smtp
        .to(address)
        .map((m) => m.subject)
        .sort();
    await waitFor(() => subjects('late@example.test').length === 2 && subjects('early@example.test').length === 1, {
      what: 'backfill and later entry',
    });
    await waitFor(() => subjects('earlier@example.test').length === 1);
    expect(subjects('early@example.test')).toEqual(['with backfill']);
    expect(subjects('late@example.test')).toEqual(['with backfill', 'without backfill']);

    // Connecting twice is refused rather than backfilling again.
    await api
      .post(`/api/audiences/${audienceId}/destinations`)
      .send({ destinationId: withBackfill, backfill: true })
      .expect(409);
    const list = await api.get(`/api/audiences/${audienceId}/destinations`).expect(200);
    expect(list.body.items).toHaveLength(2);
  });

  it('retries a transient 451 with backoff, then sends once', async () => {
    const { audienceId, destinationId } = await audienceWithDestination('flaky');
    await api.connect(audienceId, destinationId);
    const p = await seed.profile(ws.workspaceId, { email: 'flaky@example.test', name: 'F' });
    const [delivery] = await seed.enter(ws.workspaceId, audienceId, p);
    await waitFor(async () => (await seed.statusCounts(destinationId)).failed === 1, { what: 'first attempt failed' });
    const failed = await api.get(`/api/destinations/${destinationId}/deliveries?status=failed`).expect(200);
    expect(failed.body.items[0].lastError).toContain('451');
    expect(failed.body.items[0].nextAttemptAt).toBeTruthy();
    await waitFor(() => smtp.to('flaky@example.test').length === 1, { what: 'the retry' });
    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === 1);
    const [row] = await seed.deliveries(destinationId);
    expect(row).toMatchObject({ id: delivery!.id, status: 'sent', attempts: 2 });
    expect(smtp.attemptsFor(`<${delivery!.id}@acme.test>`)).toBe(2);
  });

  it('gives up at once on a permanent 550 and suppresses the bounced address', async () => {
    const { audienceId, destinationId } = await audienceWithDestination('bounce');
    await api.connect(audienceId, destinationId);
    const p = await seed.profile(ws.workspaceId, { email: 'nobody@example.test', name: 'N' });
    await seed.enter(ws.workspaceId, audienceId, p);
    await waitFor(async () => (await seed.statusCounts(destinationId)).dead === 1, { what: 'dead delivery' });
    const [row] = await seed.deliveries(destinationId);
    expect(row!.attempts).toBe(1);
    expect(row!.last_error).toContain('550');
    const dead = await api.get(`/api/destinations/${destinationId}/deliveries?status=dead`).expect(200);
    expect(dead.body.items).toHaveLength(1);
    const suppressions = await seed.query<{ reason: string }>(
      `SELECT reason::text AS reason FROM suppressions WHERE workspace_id = $1 AND email = 'nobody@example.test'`,
      [ws.workspaceId],
    );
    expect(suppressions).toEqual([{ reason: 'bounced' }]);
  });

  it('respects the destination rate limit', async () => {
    const { audienceId, destinationId } = await audienceWithDestination('rate', TEMPLATE, 4);
    await api.connect(audienceId, destinationId);
    const count = 12;
    for (let i = 0; i < count; i++) {
      const p = await seed.profile(ws.workspaceId, { email: `rate${i}@example.test`, name: `R${i}` });
      await seed.enter(ws.workspaceId, audienceId, p);
    }
    const mine = () => smtp.accepted.filter((m) => m.to[0]?.startsWith('rate'));
    await waitFor(() => mine().length === count, { what: 'all rate-limited emails', timeoutMs: 20_000 });
    const times = mine().map((m) => m.receivedAt);
    // 4 a second, spread out: one every 250 ms, so 12 take 2.75 s (unlimited they arrive within
    // ~100 ms). The first message also pays for opening the SMTP connection, which lets the next
    // one or two arrive closer behind it than 250 ms: hence the slack of 2 in a sliding second.
    const span = Math.max(...times) - Math.min(...times);
    expect(span).toBeGreaterThanOrEqual(2_200);
    expect(((count - 1) / span) * 1000).toBeLessThanOrEqual(4 * 1.1);
    for (const t of times) expect(times.filter((u) => u >= t && u < t + 1_000).length).toBeLessThanOrEqual(4 + 2);
  });

  /** Deliveries written for `count` new members without enqueueing them (the test does, at once). */
  async function members(audienceId: string, prefix: string, count: number): Promise<DeliveryRef[]> {
    const refs: DeliveryRef[] = [];
    for (let i = 0; i < count; i++) {
      const p = await seed.profile(ws.workspaceId, { email: `${prefix}${i}@example.test`, name: `${prefix}${i}` });
      refs.push(...(await seed.transition(ws.workspaceId, audienceId, p, 'entered', new Date())).deliveries);
    }
    return refs;
  }

  it('sends deliveries enqueued together in batched jobs exactly once, even when enqueued twice', async () => {
    const { audienceId, destinationId } = await audienceWithDestination('batched');
    await api.connect(audienceId, destinationId);
    const count = DELIVERIES_PER_JOB + 5; // two jobs
    const refs = await members(audienceId, 'batched', count);
    await seed.enqueue(refs);
    // The same deliveries again, grouped into other jobs: the claims keep them to one email each.
    await seed.enqueue([...refs].reverse());
    const queue = app.personae.app.get(DeliveryQueuesService).queueFor(destinationId);
    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === count, { what: 'batched emails' });
    // A job that found a delivery claimed by the other job looks again when that claim would
    // expire, in a delayed job of its own: run those now; they find the rows sent.
    const idle = async () => {
      const counts = await queue.getJobCounts('waiting', 'active', 'prioritized');
      return Object.values(counts).every((n) => n === 0);
    };
    await waitFor(idle, { what: 'no job waiting or active' });
    const rechecks = await queue.getDelayed();
    expect(rechecks.every((job) => 'deliveryId' in job.data && job.id === job.data.deliveryId)).toBe(true);
    await Promise.all(rechecks.map((job) => job.promote()));
    await waitFor(async () => (await idle()) && (await queue.getDelayedCount()) === 0, { what: 'rechecks done' });
    for (let i = 0; i < count; i++) expect(smtp.to(`batched${i}@example.test`)).toHaveLength(1);
    const firstIds = refs.slice(0, DELIVERIES_PER_JOB).map((r) => r.id);
    const first = await queue.getJob(deliveryJobId(firstIds));
    expect(first?.data).toEqual({ deliveryIds: firstIds });
    const rows = await seed.deliveries(destinationId);
    expect(rows.every((row) => row.status === 'sent' && row.attempts === 1)).toBe(true);
  });

  it('spaces out a batch for a rate-limited destination', async () => {
    const { audienceId, destinationId } = await audienceWithDestination('spaced', TEMPLATE, 4);
    await api.connect(audienceId, destinationId);
    const count = 12;
    await seed.enqueue(await members(audienceId, 'spaced', count));
    const mine = () => smtp.accepted.filter((m) => m.to[0]?.startsWith('spaced'));
    await waitFor(() => mine().length === count, { what: 'all rate-limited emails', timeoutMs: 20_000 });
    const times = mine().map((m) => m.receivedAt);
    // As for deliveries enqueued one by one (above): one every 250 ms, not a batch at once.
    const span = Math.max(...times) - Math.min(...times);
    expect(span).toBeGreaterThanOrEqual(2_200);
    expect(((count - 1) / span) * 1000).toBeLessThanOrEqual(4 * 1.1);
    for (const t of times) expect(times.filter((u) => u >= t && u < t + 1_000).length).toBeLessThanOrEqual(4 + 2);
    expect(smtp.accepted.filter((m) => m.to[0]?.startsWith('spaced'))).toHaveLength(count);
  });

  it('stops mailing an address unsubscribed by one-click POST', async () => {
    const { audienceId, destinationId } = await audienceWithDestination('unsub');
    await api.connect(audienceId, destinationId, false, 'both');
    const p = await seed.profile(ws.workspaceId, { email: 'leaver@example.test', name: 'L' });
    await seed.enter(ws.workspaceId, audienceId, p);
    await waitFor(() => smtp.to('leaver@example.test').length === 1);
    const link = smtp.to('leaver@example.test')[0]!.headers.get('list-unsubscribe')!.slice(1, -1);
    const path = new URL(link).pathname;

    const page = await app.http().get(path).expect(200);
    expect(page.text).toContain('<form method="post">');
    expect(page.text).toContain('l***@example.test');
    await app.http().post(path).type('form').send('List-Unsubscribe=One-Click').expect(200);
    await app
      .http()
      .post(`${path.slice(0, -3)}AAA`)
      .type('form')
      .send('List-Unsubscribe=One-Click')
      .expect(400);

    await seed.exit(ws.workspaceId, audienceId, p);
    await waitFor(async () => (await seed.statusCounts(destinationId)).suppressed === 1, { what: 'suppressed exit' });
    expect(smtp.to('leaver@example.test')).toHaveLength(1);
  });

  it('skips queued deliveries when the audience is disconnected', async () => {
    const { audienceId, destinationId } = await audienceWithDestination('disconnect');
    await api.connect(audienceId, destinationId);
    const p = await seed.profile(ws.workspaceId, { email: 'dc@example.test', name: 'D' });
    // Written but not enqueued yet: disconnecting must keep it from ever going out.
    await seed.transition(ws.workspaceId, audienceId, p, 'entered', new Date());
    await api.delete(`/api/audiences/${audienceId}/destinations/${destinationId}`).expect(204);
    const [row] = await seed.deliveries(destinationId);
    expect(row).toMatchObject({ status: 'skipped', last_error: 'disconnected' });
    await seed.enqueue([{ id: row!.id, destinationId }]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(smtp.to('dc@example.test')).toHaveLength(0);
  });
});
