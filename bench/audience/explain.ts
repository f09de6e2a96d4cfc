/**
 * EXPLAIN (ANALYZE, BUFFERS) of the compiled and the hand-written query of benchmark audiences, on
 * the dataset `npm run bench:audience` loaded, with the same bound values the benchmark uses.
 *
 * usage: node -r @swc-node/register bench/audience/explain.ts [--database-url <url>] [--compiled-only] <key>…
 */
import { parseArgs } from 'node:util';

import { Client } from 'pg';

import { audienceCountQuery } from '../../src/audiences/audiences.repository';
import { parseAudience } from '../../src/audiences/language/audience-parser';
import { compileAudiencePredicate } from '../../src/audiences/language/compiler/audience-compiler';
import { redactUrl } from '../generator/report';
import { AUDIENCE_CASES } from './cases';

interface RecordedDataset {
  workspace_id: string;
  now: string;
}

async function explain(client: Client, label: string, text: string, values: unknown[]): Promise<void> {
  const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, SETTINGS) ${text}`, values);
  console.log(`\n── ${label}\n${rows.map((r) => r['QUERY PLAN']).join('\n')}`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { 'database-url': { type: 'string' }, 'compiled-only': { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  const url =
    values['database-url'] ?? process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/personae_bench_10m';
  const client = new Client({ connectionString: url, application_name: 'personae-bench-explain' });
  await client.connect();
  try {
    // The most recently loaded dataset of this database.
    const { rows } = await client.query<RecordedDataset>(
      "SELECT workspace_id, options ->> 'now' AS now FROM bench_datasets ORDER BY loaded_at DESC LIMIT 1",
    );
    const recorded = rows[0];
    if (!recorded) throw new Error(`no dataset recorded in ${redactUrl(url)}: run npm run bench:audience first`);
    const now = new Date(recorded.now);
    const keys = positionals.length > 0 ? positionals : AUDIENCE_CASES.map((c) => c.key);
    for (const key of keys) {
      const benchCase = AUDIENCE_CASES.find((c) => c.key === key);
      if (!benchCase) throw new Error(`unknown audience ${key}`);
      const predicate = compileAudiencePredicate(parseAudience(benchCase.definition), {
        workspaceId: recorded.workspace_id,
        now,
      });
      const compiled = audienceCountQuery(recorded.workspace_id, predicate);
      await explain(client, `${key} compiled`, compiled.text, compiled.values);
      if (!values['compiled-only']) {
        const hand = [recorded.workspace_id, now.toISOString(), ...(benchCase.params ?? [])];
        await explain(client, `${key} hand-written`, benchCase.handWritten, hand);
      }
    }
  } finally {
    await client.end();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
