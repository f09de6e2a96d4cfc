import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { devMailSinkEnabled } from '../destinations/dev-mail-sink';
import { WorkspacesService } from '../workspaces/workspaces.service';
import {
  CHECKOUT_DROP_OFF,
  CHECKOUT_DROP_OFF_DESCRIPTION,
  DEMO_DATASET,
  DEMO_EMAILS,
  DEMO_SOURCE_NAME,
  DEMO_WORKSPACE_NAME,
  DORMANT_NEWBIES,
  DORMANT_NEWBIES_DESCRIPTION,
} from './demo-content';
import { DemoSeedRepository } from './demo-seed.repository';
import { generateDataset } from './generator/dataset';

export interface DemoAccess {
  workspace: { id: string; name: string };
  writeKey: string | null;
  apiToken: string;
  data: { profiles: number; events: number; loadedAt: Date; loadedNow: boolean };
  audiences: { key: string; description: string }[];
  /** Destinations connected to the local mail sink; none when SMTP_URL points at a real server. */
  emails: string[];
}

export class DemoSetupError extends Error {}

/** How long the set-up waits for the first computation of the demo audiences (a worker must run). */
const FIRST_COMPUTE_TIMEOUT_MS = 5 * 60_000;
const FIRST_COMPUTE_POLL_MS = 200;

interface ApiAnswer {
  status: number;
  body: unknown;
}

/**
 * The quick start's Demo workspace. On its first start it loads the generated people and events
 * straight into Postgres (as ingest would have stored them) and then sets up the audiences and
 * follow-up emails through the public API, exactly as the docs tell a user to. A `demo_seeds` row
 * records both steps, so later starts only mint a fresh API token to print.
 */
@Injectable()
export class DemoService {
  private readonly logger = new Logger(DemoService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly workspaces: WorkspacesService,
    private readonly repository: DemoSeedRepository,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  async start(): Promise<DemoAccess> {
    const existing = await this.workspaces.findByName(DEMO_WORKSPACE_NAME);
    const created = existing ? undefined : await this.workspaces.create(DEMO_WORKSPACE_NAME, DEMO_SOURCE_NAME);
    const workspace = created?.workspace ?? existing;
    if (!workspace) throw new DemoSetupError('the Demo workspace could not be created');
    // Tokens are stored hashed: a fresh one is the only one we can print (earlier ones stay valid).
    const apiToken = created?.apiToken ?? (await this.workspaces.issueApiToken(workspace.id, 'Demo start'));
    const source = created?.source ?? (await this.workspaces.listSources(workspace.id, { limit: 1 })).items[0];

    let seed = await this.repository.find(workspace.id);
    let loadedNow = false;
    if (seed === null && source) {
      await this.load(workspace.id, source.id);
      seed = await this.repository.find(workspace.id);
      loadedNow = true;
    }
    const emails = devMailSinkEnabled(this.config) ? DEMO_EMAILS.map((email) => email.name) : [];
    if (seed && seed.completedAt === null) {
      await this.setUp(workspace.id, apiToken);
      await this.repository.markCompleted(workspace.id);
    }
    return {
      workspace,
      writeKey: source?.writeKey ?? null,
      apiToken,
      data: {
        profiles: seed?.profiles ?? 0,
        events: seed?.events ?? 0,
        loadedAt: seed?.loadedAt ?? this.clock.now(),
        loadedNow,
      },
      audiences: [
        { key: DORMANT_NEWBIES.key, description: DORMANT_NEWBIES_DESCRIPTION },
        { key: CHECKOUT_DROP_OFF.key, description: CHECKOUT_DROP_OFF_DESCRIPTION },
      ],
      emails,
    };
  }

  private async load(workspaceId: string, sourceId: string): Promise<void> {
    const started = performance.now();
    this.logger.log(
      `loading the demo data (first start only): ${DEMO_DATASET.profiles} people, ${DEMO_DATASET.events} events`,
    );
    const dataset = generateDataset({
      ...DEMO_DATASET,
      now: this.clock.now(),
      workspaceName: DEMO_WORKSPACE_NAME,
      into: { workspaceId, sourceId },
    });
    const counts = await this.repository.load(workspaceId, sourceId, dataset.journeys());
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    this.logger.log(`demo data loaded in ${seconds} s: ${counts.profiles} profiles, ${counts.events} events`);
  }

  /** Audiences, destinations and connections, each skipped when it is already there. */
  private async setUp(workspaceId: string, apiToken: string): Promise<void> {
    const audiences = new Map<string, string>();
    const created = [
      await this.call(apiToken, 'POST', '/api/audiences', DORMANT_NEWBIES, [201, 409]),
      await this.call(apiToken, 'POST', '/api/funnels/audience', CHECKOUT_DROP_OFF, [201, 409]),
    ];
    for (const answer of created) {
      const audience = answer.body as { id?: string; key?: string };
      if (answer.status === 201 && audience.id && audience.key) audiences.set(audience.key, audience.id);
    }
    if (audiences.size < created.length) {
      for (const audience of await this.listAll(apiToken, '/api/audiences')) {
        const { id, key } = audience as { id: string; key: string };
        audiences.set(key, id);
      }
    }
    // Demo addresses look real (gmail.com…): they may only ever reach the local sink.
    if (!devMailSinkEnabled(this.config)) return;
    // Connecting while the first computation is still running can miss its members (neither the
    // backfill nor the computation sees the other's uncommitted rows), so connect once it is done.
    await this.untilComputed(workspaceId, [...audiences.keys()]);

    const destinations = new Map<string, string>();
    for (const destination of await this.listAll(apiToken, '/api/destinations')) {
      const { id, name } = destination as { id: string; name: string };
      destinations.set(name, id);
    }
    for (const email of DEMO_EMAILS) {
      let destinationId = destinations.get(email.name);
      if (destinationId === undefined) {
        const answer = await this.call(apiToken, 'POST', '/api/destinations', {
          type: 'email',
          name: email.name,
          config: email.config,
        });
        destinationId = (answer.body as { id: string }).id;
      }
      const audienceId = audiences.get(email.audienceKey);
      if (audienceId === undefined) throw new DemoSetupError(`the demo audience ${email.audienceKey} is missing`);
      await this.call(
        apiToken,
        'POST',
        `/api/audiences/${audienceId}/destinations`,
        { destinationId, backfill: true, send: 'entered' },
        [201, 409],
      );
    }
  }

  private async untilComputed(workspaceId: string, keys: readonly string[]): Promise<void> {
    const deadline = this.clock.now().getTime() + FIRST_COMPUTE_TIMEOUT_MS;
    for (;;) {
      const states = await this.repository.audienceStates(workspaceId, keys);
      const failed = states.find((state) => state.status === 'failed');
      if (failed) throw new DemoSetupError(`the demo audience ${failed.key} failed: ${failed.statusReason ?? '?'}`);
      if (states.filter((state) => state.lastComputedAt !== null).length === keys.length) return;
      if (this.clock.now().getTime() > deadline) {
        throw new DemoSetupError('the demo audiences were not computed in 5 minutes: is a worker running?');
      }
      await sleep(FIRST_COMPUTE_POLL_MS);
    }
  }

  private async listAll(apiToken: string, path: string): Promise<unknown[]> {
    const items: unknown[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `?cursor=${encodeURIComponent(cursor)}`;
      const page = (await this.call(apiToken, 'GET', `${path}${query}`)).body as {
        items: unknown[];
        nextCursor: string | null;
      };
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return items;
  }

  /** One call to our own public API, in process: the demo is set up exactly as the docs tell a user to. */
  private async call(
    apiToken: string,
    method: 'GET' | 'POST',
    url: string,
    payload?: object,
    accepted: readonly number[] = [200, 201],
  ): Promise<ApiAnswer> {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const response = await fastify.inject({
      method,
      url,
      headers: { authorization: `Bearer ${apiToken}` },
      ...(payload === undefined ? {} : { payload }),
    });
    if (!accepted.includes(response.statusCode)) {
      throw new DemoSetupError(`demo set-up: ${method} ${url} answered ${response.statusCode}: ${response.body}`);
    }
    return { status: response.statusCode, body: response.body ? (JSON.parse(response.body) as unknown) : null };
  }
}
