import { Client } from 'pg';

import { TEST_ADMIN_TOKEN, testEnvironment } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/database';
import { Running, runTs } from '../support/processes';
import { freePort } from '../support/redis-server';
import { waitFor } from '../support/wait-for';

/**
 * Starts Personae the way `npm run quickstart` does (demo mode, the local mail sink, the default
 * log level) as a process of its own with an explicit environment, twice on one database: the
 * first start seeds the Demo workspace and the docs' examples answer with real results; the
 * second start finds it seeded and loads nothing.
 */

const BANNER_END = 'Try it (the docs use these variables):';
/** Starting the TypeScript entry point under load, then loading the demo, takes a while. */
const START_TIMEOUT_MS = 180_000;

interface Banner {
  text: string;
  writeKey: string;
  apiToken: string;
}

/**
 * The banner once it is complete: from its first line to the blank line after its two curl lines.
 * The worker's own log lines (a schedule reconciled, deliveries re-enqueued) may follow it.
 */
function completeBanner(stdout: string): Banner | undefined {
  const start = stdout.lastIndexOf('\nPersonae is ready');
  if (start < 0 || !stdout.includes(BANNER_END, start)) return undefined;
  // Complete once the two curl lines after the heading are there.
  const end = /\$PERSONAE\/v1\/track\n\n/.exec(stdout.slice(start));
  if (!end) return undefined;
  const text = stdout.slice(start, start + end.index + end[0].length);
  const writeKey = /^ {2}Write key +(wk_\S+)/m.exec(text)?.[1];
  const apiToken = /^ {2}API token +(prs_\S+)/m.exec(text)?.[1];
  if (!writeKey || !apiToken) throw new Error(`banner without credentials:\n${text}`);
  return { text, writeKey, apiToken };
}

interface Counts {
  profiles: number;
  identities: number;
  events: number;
  audiences: number;
  destinations: number;
  seeds: string;
}

async function counts(url: string): Promise<Counts> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<Omit<Counts, 'seeds'>>(
      `SELECT (SELECT count(*) FROM profiles)::int AS profiles, (SELECT count(*) FROM identities)::int AS identities,
              (SELECT count(*) FROM events)::int AS events, (SELECT count(*) FROM audiences)::int AS audiences,
              (SELECT count(*) FROM destinations)::int AS destinations`,
    );
    const seeds = await client.query<{ seed: string }>(
      "SELECT concat_ws('|', workspace_id, profiles, events, loaded_at, completed_at) AS seed FROM demo_seeds",
    );
    return { ...rows[0]!, seeds: seeds.rows.map((r) => r.seed).join(',') };
  } finally {
    await client.end();
  }
}

describe('the quick start demo', () => {
  jest.setTimeout(6 * 60_000);
  let database: TestDatabase;
  let env: Record<string, string>;
  let base: string;
  let running: Running | undefined;
  const started: Running[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    const port = await freePort();
    const { LOG_LEVEL: _, ...explicit } = testEnvironment(database, {
      PERSONAE_DEMO: '1',
      PORT: String(port),
      DEMO_MAIL_PORT: String(await freePort()),
      // A graceful stop on a busy machine may take longer than the default 10 s; the test asserts it ends cleanly.
      SHUTDOWN_TIMEOUT_MS: '120000',
    });
    env = explicit;
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    for (const child of started.filter((c) => c.child.exitCode === null && c.child.signalCode === null)) {
      child.kill('SIGKILL');
      await child.finished;
    }
    await database.drop();
  });

  async function start(): Promise<{ banner: Banner; stdoutAtBanner: string }> {
    if (running && running.child.exitCode === null) await stop();
    const process = runTs('src/main.ts', [], env);
    running = process;
    started.push(process);
    let stdoutAtBanner = '';
    const banner = await waitFor(
      () => {
        if (process.child.exitCode !== null) throw new Error(`exited early:\n${process.stdout}\n${process.stderr}`);
        const found = completeBanner(process.stdout);
        if (found) stdoutAtBanner = process.stdout;
        return found;
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 200, what: 'the demo banner' },
    ).catch((error: unknown) => {
      // Say where the start got stuck: what the process printed so far.
      const tail = (text: string) => text.slice(-4000);
      throw new Error(`${String(error)}\nstdout:\n${tail(process.stdout)}\nstderr:\n${tail(process.stderr)}`);
    });
    return { banner, stdoutAtBanner };
  }

  async function stop(): Promise<void> {
    running?.kill('SIGTERM');
    expect((await running?.finished)?.code).toBe(0);
  }

  const api = (token: string, path: string, body?: object) =>
    fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  let beforeRestart: Counts;
  let firstBanner: Banner;

  it('seeds on the first start, ends its output with a banner holding every credential, and logs no routes', async () => {
    const { banner, stdoutAtBanner } = await start();
    firstBanner = banner;

    // The banner comes after everything the start printed; only the worker's own log lines may follow it.
    const after = stdoutAtBanner.slice(stdoutAtBanner.lastIndexOf(banner.text) + banner.text.length);
    for (const line of after.split('\n').filter(Boolean)) expect(line).toMatch(/^\{"level":\d+,/);
    expect(banner.text).toContain(TEST_ADMIN_TOKEN);
    for (const path of ['/docs', '/health', '/admin/queues', '/dev/mail']) expect(banner.text).toContain(path);
    expect(banner.text).toContain('(loaded now)');
    // Nest's module and route chatter is debug, not info (the default level here).
    expect(stdoutAtBanner).not.toMatch(/Mapped \{|RoutesResolver|RouterExplorer|InstanceLoader/);

    const seeded = await counts(database.url);
    expect(seeded).toMatchObject({ profiles: 3000, events: 40000, audiences: 2, destinations: 2 });
    expect(seeded.identities).toBeGreaterThan(3000);
    expect(seeded.seeds).toMatch(/\|3000\|40000\|.+\|.+/);
  });

  it("answers the docs' audience and funnel examples with real results", async () => {
    const { apiToken } = firstBanner;
    // docs/audiences.md: the audience the demo already holds, and a preview of its definition.
    const audiences = await waitFor(
      async () => {
        const body = (await (await api(apiToken, '/api/audiences')).json()) as {
          items: { id: string; key: string; status: string; memberCount: number }[];
        };
        return body.items.length === 2 && body.items.every((a) => a.status === 'ready') && body.items;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'both demo audiences to be computed' },
    );
    expect(audiences.map((a) => a.key).sort()).toEqual(['checkout-drop-off', 'dormant-newbies']);
    for (const audience of audiences) {
      expect(audience.memberCount).toBeGreaterThan(0);
      const members = (await (await api(apiToken, `/api/audiences/${audience.id}/members`)).json()) as {
        items: unknown[];
      };
      expect(members.items.length).toBeGreaterThan(0);
    }
    const preview = (await (
      await api(apiToken, '/api/audiences/preview', {
        definition: 'never performed "Tutorial Viewed" and inactive 30 days',
      })
    ).json()) as { count: number };
    expect(preview.count).toBeGreaterThan(0);

    // docs/funnels.md: the checkout funnel of the last 30 days.
    const now = Date.now();
    const report = await api(apiToken, '/api/funnels/report', {
      steps: [
        { event: 'Product Viewed' },
        { event: 'Product Added' },
        { event: 'Checkout Started' },
        { event: 'Order Completed' },
      ],
      from: new Date(now - 30 * 86_400_000).toISOString(),
      to: new Date(now).toISOString(),
      windowDays: 2,
    });
    expect(report.status).toBe(200);
    const { steps } = (await report.json()) as { steps: { count: number }[] };
    expect(steps).toHaveLength(4);
    for (const step of steps) expect(step.count).toBeGreaterThan(0);
  });

  it("answers the docs' identity and real-time examples about the demo's named person", async () => {
    const { apiToken, writeKey } = firstBanner;
    // docs/identity.md: Carla signed up, never opened the tutorial, and has not been back for weeks.
    const lookup = async () => {
      const response = await api(apiToken, '/api/profiles?identifier=email:carla.rossi.1eq@gmail.com');
      const body = (await response.json()) as {
        items: { identities: { type: string; value: string }[]; memberships: { audienceKey: string }[] }[];
      };
      return body.items[0];
    };
    const carla = await lookup();
    expect(carla?.identities).toContainEqual(expect.objectContaining({ type: 'user_id', value: 'usr_0zmckr4' }));
    expect(carla?.memberships.map((m) => m.audienceKey)).toContain('dormant-newbies');

    // docs/membership.md: she views the tutorial and leaves the audience in real time.
    const tracked = await fetch(`${base}/v1/track`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        userId: 'usr_0zmckr4',
        event: 'Tutorial Viewed',
        properties: { tutorial: 'getting-started' },
      }),
    });
    expect(tracked.status).toBe(200);
    await waitFor(async () => !(await lookup())?.memberships.some((m) => m.audienceKey === 'dormant-newbies'), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'Carla to leave dormant-newbies',
    });
  });

  it('shows the seeded follow-up emails at /dev/mail within a minute', async () => {
    const { apiToken } = firstBanner;
    const page = await waitFor(
      async () => {
        const html = await (await fetch(`${base}/dev/mail`)).text();
        return /five minutes away|Still thinking it over/.test(html) && html;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'caught follow-up emails' },
    );
    expect(page).toContain('hello@acme.example');
    // Both follow-ups went out over SMTP (the page keeps only the newest messages).
    const destinations = (await (await api(apiToken, '/api/destinations')).json()) as { items: { id: string }[] };
    expect(destinations.items).toHaveLength(2);
    for (const { id } of destinations.items) {
      await waitFor(
        async () => {
          const body = (await (await api(apiToken, `/api/destinations/${id}`)).json()) as { counts: { sent: number } };
          return body.counts.sent > 0;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: `sent deliveries of destination ${id}` },
      );
    }
    beforeRestart = await counts(database.url);
  });

  it('does not seed again on the second start', async () => {
    const { banner } = await start();
    expect(banner.text).not.toContain('(loaded now)');
    expect(running!.stdout).not.toContain('loading the demo data');
    expect(await counts(database.url)).toEqual(beforeRestart);
    // A fresh token is printed each start (tokens are stored hashed) and it works.
    expect((await api(banner.apiToken, '/api/workspace')).status).toBe(200);
    await stop();
  });
});
