import { Client } from 'pg';

import { DELIVERY_COLUMNS, profileDeliveries } from '../../../src/membership/batch-diff-statement';
import { DeliveryQueuesService, DeliveryRef } from '../../../src/queues/delivery-queues.service';
import type { TestApp } from '../../support/app';

/**
 * Writes audiences, profiles, memberships, transitions and deliveries directly with SQL, as the
 * membership engine would, so these tests depend only on the delivery side.
 */
export class Seed {
  private constructor(
    private readonly client: Client,
    private readonly app: TestApp | undefined,
  ) {}

  static async connect(databaseUrl: string, app?: TestApp): Promise<Seed> {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    return new Seed(client, app);
  }

  async close(): Promise<void> {
    await this.client.end();
  }

  async query<T extends object>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.client.query(sql, params)).rows as T[];
  }

  async audience(workspaceId: string, key: string, name = key): Promise<string> {
    const [row] = await this.query<{ id: string }>(
      `INSERT INTO audiences (id, workspace_id, key, name, definition_ast, definition_text, status)
       VALUES (gen_random_uuid(), $1, $2, $3, '{}', 'test', 'ready') RETURNING id`,
      [workspaceId, key, name],
    );
    return row!.id;
  }

  async profile(
    workspaceId: string,
    traits: Record<string, unknown>,
    identities: Record<string, string> = {},
  ): Promise<string> {
    const [row] = await this.query<{ id: string }>(
      `INSERT INTO profiles (id, workspace_id, traits, first_seen_at, last_seen_at)
       VALUES (gen_random_uuid(), $1, $2, now(), now()) RETURNING id`,
      [workspaceId, JSON.stringify(traits)],
    );
    for (const [type, value] of Object.entries(identities)) {
      await this.query(
        `INSERT INTO identities (id, workspace_id, profile_id, type, value) VALUES (gen_random_uuid(), $1, $2, $3, $4)`,
        [workspaceId, row!.id, type, value],
      );
    }
    return row!.id;
  }

  /** A member entering (or leaving) at `at`: membership, ledger row and, like the engine, deliveries. */
  async transition(
    workspaceId: string,
    audienceId: string,
    profileId: string,
    kind: 'entered' | 'exited',
    at: Date,
  ): Promise<{ transitionId: string; deliveries: DeliveryRef[] }> {
    if (kind === 'entered') {
      await this.query(
        `INSERT INTO audience_members (audience_id, profile_id, entered_at) VALUES ($1, $2, $3)
         ON CONFLICT (audience_id, profile_id) DO UPDATE SET entered_at = EXCLUDED.entered_at`,
        [audienceId, profileId, at],
      );
    } else {
      await this.query(`DELETE FROM audience_members WHERE audience_id = $1 AND profile_id = $2`, [
        audienceId,
        profileId,
      ]);
    }
    const [t] = await this.query<{ id: string }>(
      `INSERT INTO audience_transitions (workspace_id, audience_id, profile_id, kind, at, audience_version)
       VALUES ($1, $2, $3, $4, $5, 1) RETURNING id::text`,
      [workspaceId, audienceId, profileId, kind, at],
    );
    // The deliveries the membership engine writes for a transition (a transition batch for a segment destination).
    const deliveries = await this.query<DeliveryRef>(
      `WITH transitions AS (SELECT * FROM audience_transitions WHERE id = $1)
       INSERT INTO deliveries ${DELIVERY_COLUMNS.text} ${profileDeliveries.text}
       ON CONFLICT DO NOTHING
       RETURNING id, destination_id AS "destinationId"`,
      [t!.id],
    );
    return { transitionId: t!.id, deliveries };
  }

  /**
   * Members entering together, as one statement of the membership engine writes them: memberships,
   * ledger rows and the engine's deliveries for all of them at once.
   */
  async enterTogether(
    workspaceId: string,
    audienceId: string,
    profileIds: string[],
    at = new Date(),
  ): Promise<DeliveryRef[]> {
    return this.query<DeliveryRef>(
      `WITH members AS (
         INSERT INTO audience_members (audience_id, profile_id, entered_at)
         SELECT $2, p, $4 FROM unnest($3::uuid[]) p RETURNING profile_id
       ),
       transitions AS (
         INSERT INTO audience_transitions (workspace_id, audience_id, profile_id, kind, at, audience_version)
         SELECT $1, $2, profile_id, 'entered', $4, 1 FROM members RETURNING *
       )
       INSERT INTO deliveries ${DELIVERY_COLUMNS.text} ${profileDeliveries.text}
       ON CONFLICT DO NOTHING
       RETURNING id, destination_id AS "destinationId"`,
      [workspaceId, audienceId, profileIds, at],
    );
  }

  /** transition() then the engine's enqueue. */
  async enter(workspaceId: string, audienceId: string, profileId: string, at = new Date()): Promise<DeliveryRef[]> {
    const { deliveries } = await this.transition(workspaceId, audienceId, profileId, 'entered', at);
    await this.enqueue(deliveries);
    return deliveries;
  }

  async exit(workspaceId: string, audienceId: string, profileId: string, at = new Date()): Promise<DeliveryRef[]> {
    const { deliveries } = await this.transition(workspaceId, audienceId, profileId, 'exited', at);
    await this.enqueue(deliveries);
    return deliveries;
  }

  async enqueue(deliveries: DeliveryRef[]): Promise<void> {
    if (!this.app) throw new Error('Seed.enqueue needs the app');
    await this.app.personae.app.get(DeliveryQueuesService).enqueue(deliveries);
  }

  async deliveries(
    destinationId: string,
  ): Promise<{ id: string; status: string; attempts: number; last_error: string | null }[]> {
    return this.query(
      `SELECT id, status::text AS status, attempts, last_error FROM deliveries WHERE destination_id = $1 ORDER BY created_at, id`,
      [destinationId],
    );
  }

  /** Deliveries by status, a transition batch counting its transitions. */
  async statusCounts(destinationId: string): Promise<Record<string, number>> {
    const rows = await this.query<{ status: string; n: number }>(
      `SELECT status::text AS status, sum(coalesce(cardinality(transition_ids), 1))::int AS n
       FROM deliveries WHERE destination_id = $1 GROUP BY status`,
      [destinationId],
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }
}
