import { ATTEMPT_BUDGET_MS, LEASE_MS } from '../../src/destinations/delivery-policy';
import type { DeliveryRef } from '../../src/queues/delivery-queues.service';
import { TEST_ADMIN_TOKEN } from '../support/app';
import { waitFor } from '../support/wait-for';
import { SmtpTestServer } from './support/smtp-test-server';
import { Testbed } from './support/testbed';

/** The server answers each message this long after its data: one connection sends ~2 a second. */
const SERVER_DELAY_MS = 400;
/** Enough emails that the last ones wait for the one connection longer than a claim can spare. */
const RECIPIENTS = Math.ceil((LEASE_MS - ATTEMPT_BUDGET_MS) / SERVER_DELAY_MS) + 4;

/**
 * Claimed deliveries wait for a free SMTP connection in the worker, one message per connection at
 * a time, and are checked when their turn comes: a claim that can no longer outlast an attempt is
 * renewed, and one another worker took over meanwhile is not sent by this one.
 */
describe('email deliveries waiting for a slow SMTP server', () => {
  let smtp: SmtpTestServer;
  let bed: Testbed;

  beforeAll(async () => {
    smtp = await SmtpTestServer.start({ delayMs: SERVER_DELAY_MS });
    bed = await Testbed.start({ SMTP_URL: smtp.url }, [() => smtp.close()]);
  });

  afterAll(() => bed.close());

  async function renewals(result: 'renewed' | 'lost'): Promise<number> {
    const metrics = await bed.app.http().get('/metrics').set('authorization', `Bearer ${TEST_ADMIN_TOKEN}`).expect(200);
    const line = new RegExp(`^personae_delivery_claim_renewals_total\\{result="${result}"\\} (\\d+)$`, 'm');
    return Number(line.exec(metrics.text)?.[1] ?? 0);
  }

  it('hands one message per connection, renews old claims, and skips one taken over', async () => {
    const { api, seed, ws } = bed;
    const audienceId = await seed.audience(ws.workspaceId, 'slow');
    const destinationId = await api.createEmail({
      from: 'Acme <hello@acme.test>',
      subject: 'Hi {{ traits.name }}',
      text: 'Hello {{ traits.name }}',
      maxConnections: 1,
    });
    await api.connect(audienceId, destinationId);
    const refs: DeliveryRef[] = [];
    for (let i = 0; i < RECIPIENTS; i++) {
      const p = await seed.profile(ws.workspaceId, { email: `slow${i}@example.test`, name: `S${i}` });
      refs.push(...(await seed.transition(ws.workspaceId, audienceId, p, 'entered', new Date())).deliveries);
    }
    await seed.enqueue(refs);

    // Every delivery is claimed at once; while the first ones are sent, another worker "takes over"
    // one still waiting (as it may once a claim has run out): it bumps the attempt number.
    await waitFor(
      async () => {
        const counts = await seed.statusCounts(destinationId);
        return (counts.sending ?? 0) + (counts.sent ?? 0) === RECIPIENTS;
      },
      {
        what: 'every delivery claimed',
      },
    );
    const [taken] = await seed.query<{ id: string; email: string }>(
      `UPDATE deliveries d SET attempts = attempts + 1
       WHERE d.id = $1 AND d.status = 'sending' RETURNING d.id, 'slow' || $2 || '@example.test' AS email`,
      [refs[RECIPIENTS - 1]!.id, String(RECIPIENTS - 1)],
    );
    expect(taken).toBeDefined();

    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === RECIPIENTS - 1, {
      what: 'all but the taken-over delivery sent',
      timeoutMs: 30_000,
    });
    expect(smtp.maxInFlight).toBe(1);
    for (let i = 0; i < RECIPIENTS - 1; i++) expect(smtp.to(`slow${i}@example.test`)).toHaveLength(1);
    // Its turn came after the claim could no longer cover an attempt; the renewal found it
    // taken over, so this worker did not send it (the other one would).
    await waitFor(async () => (await renewals('lost')) === 1, { what: 'the lost claim noticed' });
    expect(smtp.to(taken!.email)).toHaveLength(0);
    expect(await renewals('renewed')).toBeGreaterThan(0);
  });
});
