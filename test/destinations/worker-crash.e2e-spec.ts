import type { DeliveryRef } from '../../src/queues/delivery-queues.service';
import { createWorkspace, startTestApp, TestApp, testEnvironment, WorkspaceCredentials } from '../support/app';
import { Running, runTs } from '../support/processes';
import { waitFor } from '../support/wait-for';
import { destinationsApi } from './support/api';
import { Seed } from './support/seed';
import { SmtpTestServer } from './support/smtp-test-server';

const RECIPIENTS = 30;

/**
 * The worker process is SIGKILLed while messages are in the middle of their SMTP transaction, then
 * started again: every due email must reach the server exactly once. Deliveries enqueued one by one
 * (a job each, as the engine enqueues single entries) and all at once (jobs of several deliveries,
 * as a backfill or a big audience change enqueues them).
 */
describe.each([
  ['enqueued one by one', false],
  ['enqueued together in batched jobs', true],
])('a delivery worker killed mid-batch, deliveries %s', (_how, together) => {
  let smtp: SmtpTestServer;
  let app: TestApp;
  let seed: Seed;
  let ws: WorkspaceCredentials;
  const workers: Running[] = [];
  /** While set, the server answers 451 instead of accepting (around the kill, see below). */
  let holding = false;

  beforeAll(async () => {
    // Slow: each message waits 400 ms between its data and the server's answer.
    smtp = await SmtpTestServer.start({
      delayMs: 400,
      reply: () => (holding ? { code: 451, message: '4.3.0 try again later' } : undefined),
    });
    // This process serves the API only; the deliveries are the child worker's job.
    app = await startTestApp({ ROLE: 'api' });
    seed = await Seed.connect(app.database.url, app);
    ws = await createWorkspace(app);
  });

  afterAll(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.finished));
    await seed.close();
    await app.close();
    await smtp.close();
  });

  function startWorker(): Running {
    const env = testEnvironment(app.database, {
      ROLE: 'worker',
      QUEUE_PREFIX: app.config.QUEUE_PREFIX,
      LOG_LEVEL: 'warn',
      PUBLIC_URL: 'https://crm.example.test',
    });
    const worker = runTs('src/main.ts', [], env);
    workers.push(worker);
    return worker;
  }

  it('sends every due email exactly once after a SIGKILL and a restart', async () => {
    const api = destinationsApi(app, ws.apiToken);
    const audienceId = await seed.audience(ws.workspaceId, 'crash');
    const destinationId = await api.createEmail({
      smtpUrl: smtp.url,
      from: 'Acme <hello@acme.test>',
      subject: 'Hi {{ traits.name }}',
      text: 'Hello {{ traits.name }}',
      maxConnections: 2,
    });
    await api.connect(audienceId, destinationId);
    const refs: DeliveryRef[] = [];
    for (let i = 0; i < RECIPIENTS; i++) {
      const p = await seed.profile(ws.workspaceId, { email: `crash${i}@example.test`, name: `C${i}` });
      if (together)
        refs.push(...(await seed.transition(ws.workspaceId, audienceId, p, 'entered', new Date())).deliveries);
      else await seed.enter(ws.workspaceId, audienceId, p);
    }
    await seed.enqueue(refs);

    const first = startWorker();
    await waitFor(() => first.stdout.includes('processing jobs'), { what: 'worker start-up', timeoutMs: 30_000 });
    // Kill while messages are inside their SMTP transaction, and once every accepted message has
    // its `sent` written (an accepted message still waiting for it is the documented window a
    // crash can still duplicate). From then on the server accepts nothing until the killed
    // worker's messages have had their answer: this server learns that a client died only when it
    // gets to the socket's close event, and on a busy machine a 250 could go to a dead client first.
    await waitFor(() => smtp.accepted.length >= 6, { what: 'first emails', timeoutMs: 30_000 });
    await waitFor(
      async () => {
        const accepted = smtp.accepted.length;
        const { sent = 0 } = await seed.statusCounts(destinationId);
        return smtp.inFlight > 0 && sent === accepted && smtp.accepted.length === accepted;
      },
      { what: 'a moment mid-send with every accepted message recorded as sent', intervalMs: 2 },
    );
    holding = true;
    first.kill('SIGKILL');
    await first.finished;
    await waitFor(() => smtp.inFlight === 0, { what: "answers to the killed worker's messages" });
    holding = false;
    const acceptedAtKill = smtp.accepted.length;
    expect(acceptedAtKill).toBeLessThan(RECIPIENTS);
    const atKill = await seed.statusCounts(destinationId);
    expect(atKill.sending).toBeGreaterThan(0);
    expect(atKill.sent).toBe(acceptedAtKill);

    const second = startWorker();
    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === RECIPIENTS, {
      what: 'every delivery sent after the restart',
      timeoutMs: 80_000,
      intervalMs: 250,
    });
    expect(second.child.exitCode).toBeNull();
    for (let i = 0; i < RECIPIENTS; i++) expect(smtp.to(`crash${i}@example.test`)).toHaveLength(1);
    expect(smtp.accepted).toHaveLength(RECIPIENTS);
    expect(new Set(smtp.accepted.map((m) => m.messageId)).size).toBe(RECIPIENTS);
  }, 150_000);
});
