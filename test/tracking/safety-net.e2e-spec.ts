import { ArgumentsHost } from '@nestjs/common';
import { Client } from 'pg';

import { SafetyNetFilter } from '../../src/common/safety-net.filter';
import { createTestDatabase, TestDatabase } from '../support/database';

/** The status and body a filter answers, through a reply that records them. */
function answer(filter: SafetyNetFilter, error: unknown): { status?: number; body?: unknown } {
  const recorded: { status?: number; body?: unknown } = {};
  const reply = {
    status(code: number) {
      recorded.status = code;
      return reply;
    },
    header() {
      return reply;
    },
    send(body: unknown) {
      recorded.body = body;
      return reply;
    },
  };
  const host = {
    getType: () => 'http',
    switchToHttp: () => ({ getResponse: () => reply, getRequest: () => ({}) }),
  } as unknown as ArgumentsHost;
  filter.catch(error, host);
  return recorded;
}

describe('SafetyNetFilter', () => {
  let database: TestDatabase;
  let client: Client;
  const filter = new SafetyNetFilter();

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new Client({ connectionString: database.url });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
    await database.drop();
  });

  const errorOf = async (text: string, values: unknown[] = []): Promise<unknown> =>
    client.query(text, values).then(
      () => {
        throw new Error(`${text} did not fail`);
      },
      (error: unknown) => error,
    );

  it.each([
    ['NUL in text (22021)', 'SELECT $1::text', ['a\u0000b']],
    ['NUL escape in jsonb (22P05)', 'SELECT \'"\\u0000"\'::jsonb', []],
    ['a number out of range (22003)', 'SELECT $1::int8', ['99999999999999999999']],
    ['a date out of range (22008)', "SELECT '300000-01-01'::timestamptz", []],
    ['a malformed uuid (22P02)', 'SELECT $1::uuid', ['not-a-uuid']],
    ['null in a NOT NULL column (23502)', 'INSERT INTO workspaces (id, name) VALUES (gen_random_uuid(), NULL)', []],
    ['nesting too deep (54001)', 'SELECT $1::jsonb', [`${'['.repeat(200_000)}${']'.repeat(200_000)}`]],
  ])('answers 400 for a database error that bad input provokes: %s', async (_, text, values) => {
    const error = await errorOf(text, values);
    const { status, body } = answer(filter, error);
    expect(status).toBe(400);
    expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request', errors: [{ field: 'request' }] });
  });

  it('still answers 503 with Retry-After while the database cannot be reached', async () => {
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(answer(filter, down).status).toBe(503);
  });
});
