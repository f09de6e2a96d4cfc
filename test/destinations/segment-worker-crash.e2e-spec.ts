import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

import type { DeliveryRef } from '../../src/queues/delivery-queues.service';
import { createWorkspace, startTestApp, TestApp, testEnvironment, WorkspaceCredentials } from '../support/app';
import { Running, runTs } from '../support/processes';
import { waitFor } from '../support/wait-for';
import { destinationsApi } from './support/api';
import { listenOnLoopback, receivingWorkspace } from './support/personae-receiver';
import { Seed } from './support/seed';

const MEMBERS = 40;

/**
 * Stands between the delivery worker and the receiving Personae: answers the first request 503,
 * then forwards each request after `delayMs`, whether or not the sender is still there to read
 * the answer (a request the receiver took in full is processed, as by a real receiver).
 */
class SlowFront {
  forwarded = 0;
  forwardedMessages = 0;
  inFlight = 0;
  requests = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string, delayMs: number): Promise<SlowFront> {
    const holder: { self?: SlowFront } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const self = holder.self!;
        self.requests += 1;
        if (self.requests === 1) {
          res.writeHead(503).end('try later');
          return;
        }
        self.inFlight += 1;
        const forward = async () => {
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          const answer = await fetch(`${target}${req.url ?? ''}`, {
            method: 'POST',
            headers: {
              authorization: String(req.headers.authorization),
              'content-type': 'application/json',
              'content-encoding': String(req.headers['content-encoding']),
            },
            body: Buffer.concat(chunks),
          });
          self.forwarded += 1;
          self.forwardedMessages += (
            JSON.parse(gunzipSync(Buffer.concat(chunks)).toString()) as { batch: [] }
          ).batch.length;
          res.writeHead(answer.status).end(await answer.text());
        };
        forward()
          .catch(() => res.destroy())
          .finally(() => {
            self.inFlight -= 1;
          });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    holder.self = new SlowFront(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return holder.self;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A segment destination whose receiver is another workspace of the same Personae: the worker is
 * SIGKILLed while requests are on their way, after the receiver answered 503 once. The receiving
 * workspace deduplicates by messageId, so every member shows up there exactly once.
 */
describe('a segment sync to another workspace, worker killed mid-request', () => {
  let app: TestApp;
  let seed: Seed;
  let ws: WorkspaceCredentials;
  let target: WorkspaceCredentials;
  let receiving: Awaited<ReturnType<typeof listenOnLoopback>>;
  let front: SlowFront;
  const workers: Running[] = [];

  beforeAll(async () => {
    // This process serves the API (and the receiving workspace); deliveries are the child worker's job.
    app = await startTestApp({ ROLE: 'api' });
    seed = await Seed.connect(app.database.url, app);
    ws = await createWorkspace(app);
    target = await createWorkspace(app, 'Receiving workspace');
    receiving = await listenOnLoopback(app);
    front = await SlowFront.start(receiving.url, 300);
  });

  afterAll(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.finished));
    await front.close();
    await receiving.close();
    await seed.close();
    await app.close();
  });

  function startWorker(): Running {
    const env = testEnvironment(app.database, {
      ROLE: 'worker',
      QUEUE_PREFIX: app.config.QUEUE_PREFIX,
      LOG_LEVEL: 'warn',
    });
    const worker = runTs('src/main.ts', [], env);
    workers.push(worker);
    return worker;
  }

  it('delivers every transition exactly once after a 503, a SIGKILL and a restart', async () => {
    const api = destinationsApi(app, ws.apiToken);
    const audienceId = await seed.audience(ws.workspaceId, 'crash_sync');
    const created = await api
      .post('/api/destinations')
      .send({ type: 'segment', name: 'Other workspace', config: { url: front.url, writeKey: target.writeKey } })
      .expect(201);
    const destinationId = (created.body as { id: string }).id;
    await api.connect(audienceId, destinationId);
    const together: string[] = [];
    for (let i = 0; i < MEMBERS; i++) {
      const p = await seed.profile(ws.workspaceId, { email: `crash${i}@example.test` }, { user_id: `crash-${i}` });
      // Half one by one (a job each), half entering in one statement (one transition batch).
      if (i % 2 === 0) await seed.enter(ws.workspaceId, audienceId, p);
      else together.push(p);
    }
    const refs: DeliveryRef[] = await seed.enterTogether(ws.workspaceId, audienceId, together);
    expect(refs).toHaveLength(1);
    await seed.enqueue(refs);

    const first = startWorker();
    await waitFor(() => first.stdout.includes('processing jobs'), { what: 'worker start-up', timeoutMs: 30_000 });
    await waitFor(() => front.requests >= 2 && front.inFlight > 0, {
      what: 'a request on its way after the 503',
      intervalMs: 5,
      timeoutMs: 30_000,
    });
    first.kill('SIGKILL');
    await first.finished;
    const atKill = await seed.statusCounts(destinationId);
    expect(atKill.sent ?? 0).toBeLessThan(MEMBERS);

    startWorker();
    await waitFor(async () => (await seed.statusCounts(destinationId)).sent === MEMBERS, {
      what: 'every delivery sent after the restart',
      timeoutMs: 90_000,
      intervalMs: 250,
    });
    await waitFor(() => front.inFlight === 0, { what: 'the last forwarded requests answered' });

    // The killed worker's requests reached the receiver and were sent again after the restart.
    expect(front.forwardedMessages).toBeGreaterThan(2 * MEMBERS);
    const there = receivingWorkspace(app, target);
    for (let i = 0; i < MEMBERS; i++) {
      const profile = await waitFor(() => there.profile(`user_id:crash-${i}`), { what: `member ${i} received` });
      expect(profile.traits).toMatchObject({ crash_sync: true, email: `crash${i}@example.test` });
      const events = await there.events(profile.id);
      expect(events.filter((e) => e.name === 'Audience Entered')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'identify')).toHaveLength(1);
    }
  }, 180_000);
});
