import { randomUUID } from 'node:crypto';

import { AudiencesModule } from '../../src/audiences/audiences.module';
import { AudiencesService } from '../../src/audiences/audiences.service';
import { ManualClock } from '../../src/common/clock';
import { TrackingModule } from '../../src/tracking/tracking.module';
import { TrackingService } from '../../src/tracking/tracking.service';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { createWorkspaceIn, startTestModule, TestModule } from '../support/modules';

/**
 * Table-driven audience tests: each case loads its people into a fresh workspace through the
 * Segment-compatible batch call, with timestamps relative to a ManualClock, then previews a
 * definition and compares the count and the sample with the people it should select. The cases run
 * on the services (AudienceServices, the integration tier); AudienceHarness does the same over HTTP
 * for the tests of the REST API.
 */

export const NOW = new Date('2026-06-15T12:00:00.000Z');
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export type JsonObject = Record<string, unknown>;

/** One Segment call for a person, `ago` milliseconds before NOW (negative: in the future). */
export type Message =
  | { type?: 'track'; event: string; ago: number; properties?: JsonObject }
  | { type: 'page' | 'screen'; name: string; ago: number }
  | { type: 'identify'; ago: number; traits?: JsonObject };

export interface Person {
  /** Sent as the Segment userId; the sample is matched back to people by it. */
  id: string;
  messages: Message[];
}

export interface AudienceCase {
  name: string;
  definition: string | object;
  /** Ids of the people the audience selects. */
  expected: string[];
  includeHistoricalData?: boolean;
  /** The people of this case; default: the family's people. */
  people?: Person[];
}

export function track(event: string, ago: number, properties?: JsonObject): Message {
  return properties ? { event, ago, properties } : { event, ago };
}

export function identify(ago: number, traits?: JsonObject): Message {
  return traits ? { type: 'identify', ago, traits } : { type: 'identify', ago };
}

export function page(name: string, ago: number): Message {
  return { type: 'page', name, ago };
}

function segmentMessage(person: Person, message: Message): JsonObject {
  const common = {
    userId: person.id,
    messageId: randomUUID(),
    timestamp: new Date(NOW.getTime() - message.ago).toISOString(),
    context: { library: { name: 'analytics-node', version: '3.1.0' }, ip: '203.0.113.7' },
  };
  switch (message.type) {
    case 'identify':
      return { ...common, type: 'identify', traits: message.traits ?? {} };
    case 'page':
    case 'screen':
      return { ...common, type: message.type, name: message.name, properties: {} };
    case 'track':
    case undefined:
      return { ...common, type: 'track', event: message.event, properties: message.properties ?? {} };
  }
}

export function basicAuth(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}

/** What a table of cases needs: a workspace holding people, and a preview in it. */
export abstract class AudienceCaseRunner {
  constructor(readonly clock: ManualClock) {}

  abstract workspaceWith(people: Person[]): Promise<WorkspaceCredentials>;

  abstract preview(
    workspace: WorkspaceCredentials,
    definition: string | object,
    includeHistoricalData?: boolean,
  ): Promise<Preview>;

  abstract close(): Promise<void>;

  /** Runs one case: its people in a fresh workspace, then the preview; returns the user ids selected. */
  async run(testCase: AudienceCase, familyPeople: Person[]): Promise<{ count: number; members: string[] }> {
    const workspace = await this.workspaceWith(testCase.people ?? familyPeople);
    const preview = await this.preview(workspace, testCase.definition, testCase.includeHistoricalData);
    return { count: preview.count, members: userIdsOf(preview).sort() };
  }
}

function batchOf(people: Person[]): JsonObject {
  const batch = people.flatMap((person) => person.messages.map((message) => segmentMessage(person, message)));
  return { batch, context: { library: { name: 'analytics-node', version: '3.1.0' } } };
}

/** The audience and tracking services on a database of their own, without HTTP. */
export class AudienceServices extends AudienceCaseRunner {
  private constructor(
    readonly module: TestModule,
    clock: ManualClock,
  ) {
    super(clock);
  }

  static async start(): Promise<AudienceServices> {
    const clock = new ManualClock(NOW);
    return new AudienceServices(await startTestModule([TrackingModule, AudiencesModule], { clock }), clock);
  }

  get audiences(): AudiencesService {
    return this.module.get(AudiencesService);
  }

  close(): Promise<void> {
    return this.module.close();
  }

  async workspaceWith(people: Person[]): Promise<WorkspaceCredentials> {
    const workspace = await createWorkspaceIn(this.module, `audiences ${randomUUID()}`);
    if (people.length > 0) {
      await this.module
        .get(TrackingService)
        .ingest('batch', batchOf(people), { authorization: basicAuth(workspace.writeKey) });
    }
    return workspace;
  }

  async preview(
    workspace: WorkspaceCredentials,
    definition: string | object,
    includeHistoricalData?: boolean,
  ): Promise<Preview> {
    const preview = await this.audiences.preview(
      workspace.workspaceId,
      includeHistoricalData === undefined ? { definition } : { definition, includeHistoricalData },
    );
    return preview as Preview;
  }
}

/** The whole application over HTTP (API role: no membership engine alongside). */
export class AudienceHarness extends AudienceCaseRunner {
  private constructor(
    readonly app: TestApp,
    clock: ManualClock,
  ) {
    super(clock);
  }

  static async start(): Promise<AudienceHarness> {
    const clock = new ManualClock(NOW);
    const app = await startTestApp({ ROLE: 'api' }, { clock });
    return new AudienceHarness(app, clock);
  }

  close(): Promise<void> {
    return this.app.close();
  }

  /** A fresh workspace holding `people`, loaded through /v1/batch. */
  async workspaceWith(people: Person[]): Promise<WorkspaceCredentials> {
    const workspace = await createWorkspace(this.app, `audiences ${randomUUID()}`);
    if (people.length > 0) {
      await this.app
        .http()
        .post('/v1/batch')
        .set('authorization', basicAuth(workspace.writeKey))
        .send(batchOf(people))
        .expect(200);
    }
    return workspace;
  }

  async preview(
    workspace: WorkspaceCredentials,
    definition: string | object,
    includeHistoricalData?: boolean,
  ): Promise<Preview> {
    const response = await this.app
      .http()
      .post('/api/audiences/preview')
      .set('authorization', `Bearer ${workspace.apiToken}`)
      .send(includeHistoricalData === undefined ? { definition } : { definition, includeHistoricalData });
    if (response.status !== 200) {
      throw new Error(`preview answered ${response.status}: ${JSON.stringify(response.body)}`);
    }
    return response.body as Preview;
  }
}

export interface Preview {
  count: number;
  sample: { profileId: string; traits: JsonObject; identities: { type: string; value: string }[] }[];
  sql: string;
  params: unknown[];
}

export function userIdsOf(preview: Preview): string[] {
  return preview.sample.map(
    (profile) => profile.identities.find((identity) => identity.type === 'user_id')?.value ?? profile.profileId,
  );
}

/**
 * Declares one `it` per case. Every family keeps its people at ten or fewer, so the sample (at most
 * ten) holds every member and can be compared as a set.
 */
export function audienceCases(harness: () => AudienceCaseRunner, people: Person[], cases: AudienceCase[]): void {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_, testCase) => {
    const result = await harness().run(testCase, people);
    expect(result).toEqual({ count: testCase.expected.length, members: [...testCase.expected].sort() });
  });
}
