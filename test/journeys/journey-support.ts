import { readAudienceDefinition } from '../../src/audiences/language/audience-definition';
import { ManualClock } from '../../src/common/clock';
import { JourneyEngineService, SweepOutcome } from '../../src/journeys/journey-engine.service';
import { destinationsApi } from '../destinations/support/api';
import { SmtpTestServer, SmtpTestServerOptions } from '../destinations/support/smtp-test-server';
import { MembershipFixtures } from '../membership/membership-support';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { waitFor } from '../support/wait-for';
import { TestSql } from '../tracking/tracking-support';

export const DAY = 86_400_000;
export const START = new Date('2026-03-02T10:00:00Z');

export const EMAIL = {
  from: 'Growth <growth@acme.test>',
  subject: 'Hello {{ traits.name | default: "there" }}',
  text: 'Default body for {{ traits.name | default: "you" }}',
};

/** An app on a manual clock, an SMTP server, a workspace, and helpers to drive journeys through it. */
export class JourneyBed {
  private constructor(
    readonly app: TestApp,
    readonly clock: ManualClock,
    readonly smtp: SmtpTestServer,
    readonly sql: TestSql,
    readonly ws: WorkspaceCredentials,
    readonly f: MembershipFixtures,
    readonly api: ReturnType<typeof destinationsApi>,
  ) {}

  static async start(env: Record<string, string> = {}, smtpOptions: SmtpTestServerOptions = {}): Promise<JourneyBed> {
    const smtp = await SmtpTestServer.start(smtpOptions);
    const clock = new ManualClock(START);
    const app = await startTestApp({ SMTP_URL: smtp.url, ...env }, { clock });
    const sql = await TestSql.connect(app);
    const ws = await createWorkspace(app);
    return new JourneyBed(
      app,
      clock,
      smtp,
      sql,
      ws,
      new MembershipFixtures(sql, ws.workspaceId, ws.sourceId),
      destinationsApi(app, ws.apiToken),
    );
  }

  async close(): Promise<void> {
    await this.sql.close();
    await this.app.close();
    await this.smtp.close();
  }

  /** A new workspace on the same app (each test its own). */
  async workspace(): Promise<{
    ws: WorkspaceCredentials;
    f: MembershipFixtures;
    api: ReturnType<typeof destinationsApi>;
  }> {
    const ws = await createWorkspace(this.app);
    return {
      ws,
      f: new MembershipFixtures(this.sql, ws.workspaceId, ws.sourceId),
      api: destinationsApi(this.app, ws.apiToken),
    };
  }

  /** A new workspace whose frequency cap allows one message per person a day, in `mode`. */
  async cappedWorkspace(mode: 'skip' | 'wait'): ReturnType<JourneyBed['workspace']> {
    const workspace = await this.workspace();
    await workspace.api
      .patch('/api/workspace/settings')
      .send({ messaging: { frequencyCap: 1, frequencyCapWindowHours: 24, frequencyCapMode: mode } })
      .expect(200);
    return workspace;
  }

  engine(): JourneyEngineService {
    return this.app.personae.app.get(JourneyEngineService);
  }

  /** Moves the clock and runs the timers as the scheduled sweep would. */
  async advance(ms: number): Promise<SweepOutcome> {
    this.clock.advance(ms);
    return this.engine().sweep(30_000);
  }

  /** A profile that performs `event` now (real-time evaluation takes it from there). */
  async track(f: MembershipFixtures, profileId: string, event: string, properties: object = {}): Promise<void> {
    await f.event(profileId, event, this.clock.now(), properties);
    await f.changed(profileId);
  }

  async runs(journeyId: string): Promise<RunRow[]> {
    return this.sql.rows<RunRow>(
      `SELECT id, profile_id, status::text, step_id, variant, version, end_reason, entry_event
       FROM journey_runs WHERE journey_id = $1 ORDER BY started_at, id`,
      [journeyId],
    );
  }

  async runOf(journeyId: string, profileId: string): Promise<RunRow | undefined> {
    return (await this.runs(journeyId)).filter((r) => r.profile_id === profileId).pop();
  }

  /** Waits until the profile has an active run of the journey at `step` (or in `status`). */
  async waitForRun(
    journeyId: string,
    profileId: string,
    check: (run: RunRow) => boolean,
    what: string,
  ): Promise<RunRow> {
    return await waitFor(
      async () => {
        const run = await this.runOf(journeyId, profileId);
        return run && check(run) ? run : undefined;
      },
      { what },
    );
  }

  subjects(address: string): string[] {
    return this.smtp.to(address).map((mail) => mail.subject);
  }

  /** An account (a group) with these members, as `group` calls would make it. */
  async account(f: MembershipFixtures, groupId: string, traits: object, members: string[]): Promise<string> {
    const [row] = await this.sql.rows<{ id: string }>(
      `INSERT INTO groups (id, workspace_id, group_id, traits, created_at, updated_at)
       VALUES (gen_random_uuid(), $1, $2, $3, $4, $4) RETURNING id`,
      [f.workspaceId, groupId, JSON.stringify(traits), this.clock.now().toISOString()],
    );
    for (const member of members) {
      await this.sql.rows('INSERT INTO group_memberships (group_id, profile_id) VALUES ($1, $2)', [row!.id, member]);
    }
    return row!.id;
  }

  /** Changes an account's traits; a change of one of its members re-evaluates it in real time. */
  async setAccountTraits(f: MembershipFixtures, accountId: string, traits: object, member: string): Promise<void> {
    await this.sql.rows('UPDATE groups SET traits = traits || $2::jsonb WHERE id = $1', [
      accountId,
      JSON.stringify(traits),
    ]);
    await f.changed(member);
  }
}

/** An account audience (its members are accounts), written as the API would. */
export async function accountAudience(f: MembershipFixtures, key: string, definition: string): Promise<string> {
  const read = readAudienceDefinition(definition, 'definition', 'account');
  if (!read.ok) throw new Error(`bad definition in test: ${JSON.stringify(read.errors)}`);
  const [row] = await f.sql.rows<{ id: string }>(
    `INSERT INTO audiences (id, workspace_id, key, name, level, definition_ast, definition_text, include_historical_data,
                            refresh_interval_seconds, updated_at)
     VALUES (gen_random_uuid(), $1, $2, $2, 'account', $3, $4, true, 3600, now()) RETURNING id`,
    [f.workspaceId, key, JSON.stringify(read.ast), read.text],
  );
  return row!.id;
}

export interface RunRow {
  id: string;
  profile_id: string;
  status: string;
  step_id: string;
  variant: string | null;
  version: number;
  end_reason: string | null;
  entry_event: { name: string; properties: Record<string, unknown> } | null;
}

export async function createJourney(
  app: TestApp,
  apiToken: string,
  body: Record<string, unknown>,
  activate = true,
): Promise<string> {
  const created = await app.http().post('/api/journeys').set('authorization', `Bearer ${apiToken}`).send(body);
  if (created.status !== 201) throw new Error(`create journey: ${created.status} ${JSON.stringify(created.body)}`);
  const id = (created.body as { id: string }).id;
  if (activate) {
    await app.http().post(`/api/journeys/${id}/activate`).set('authorization', `Bearer ${apiToken}`).expect(200);
  }
  return id;
}

/** GET /api/journeys/:id/report, as the tests read it. */
export interface ReportBody {
  steps: { stepId: string; entered: number; waiting: number; passed: number; sent: number; capped: number }[];
  variants: unknown[];
  converted: number;
}

/** GET /api/journeys/:id/runs, as the tests read it. */
export interface RunsBody {
  items: { status: string; variant: string | null; history: { stepId: string; outcome: string }[] }[];
  nextCursor: string | null;
}
