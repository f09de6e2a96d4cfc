import { Client } from 'pg';

import { seenNow } from '../../src/profiles/profile-seen';
import { TestApp } from '../support/app';

/** `Authorization: Basic base64(writeKey:)`, as Segment libraries send it. */
const seen = seenNow('p');
/**
 * Select-list columns first_seen_at and last_seen_at of profile `p` as readers see them: with its
 * events' timestamps (ingest leaves them for evaluation to apply to the row).
 */
export const SEEN_NOW = `${seen.first.text} AS first_seen_at, ${seen.last.text} AS last_seen_at`;

export function basicAuth(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}

/** Direct SQL against the test app's database, for assertions on what was stored. */
export class TestSql {
  private constructor(private readonly client: Client) {}

  static async connect(app: Pick<TestApp, 'database'>): Promise<TestSql> {
    const client = new Client({ connectionString: app.database.url });
    await client.connect();
    return new TestSql(client);
  }

  async rows<T extends object = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
    return (await this.client.query(text, values)).rows as T[];
  }

  async count(text: string, values: unknown[] = []): Promise<number> {
    const [row] = await this.rows<{ count: string | number }>(text, values);
    return Number(row?.count ?? 0);
  }

  async setWorkspaceSettings(workspaceId: string, settings: object): Promise<void> {
    await this.client.query('UPDATE workspaces SET settings = $2 WHERE id = $1', [
      workspaceId,
      JSON.stringify(settings),
    ]);
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

/** The profile id an identity belongs to, or undefined. */
export async function profileOf(
  sql: TestSql,
  workspaceId: string,
  type: string,
  value: string,
): Promise<string | undefined> {
  const [row] = await sql.rows<{ profile_id: string }>(
    'SELECT profile_id FROM identities WHERE workspace_id = $1 AND type = $2 AND value = $3',
    [workspaceId, type, value],
  );
  return row?.profile_id;
}
