import fc from 'fast-check';

import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';
import { basicAuth, TestSql } from './tracking-support';

/**
 * Arbitrary JSON at /v1/batch, sent as raw text (so duplicate keys, huge numbers and deep nesting
 * really reach the parser). Each generated message is valid or invalid by construction; the
 * server must never answer 5xx, store each valid message exactly once, quarantine each invalid
 * one, and stay healthy.
 */

const RUNS = Number(process.env.BATCH_FUZZ_RUNS ?? 40);

/** A JSON member as text: `"key":value`. */
type Member = [key: string, valueText: string];

interface Generated {
  valid: boolean;
  /** The JSON text of the batch item. */
  text: string;
  /** The message's id, or a marker inside a non-object item. */
  id: string;
  object: boolean;
}

const nasty = fc.constantFrom('\u0000', '\uD800', '\uDFFF', 'a\u0000b', '\uDBFF\u0000', 'é', '😀', '"', '\\', '\n');
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.tuple(fc.string({ maxLength: 5 }), nasty).map(([a, b]) => a + b),
);
const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.constantFrom('1e308', '-1e308', '1e400', '-1e400', '123456789012345678901234567890', '-0', '5e-324', '0.1e-400'),
);
/** Values as JSON text, with keys and strings that Postgres cannot hold as they are. */
const valueText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text.map((t) => JSON.stringify(t)),
    number,
    fc.constantFrom('true', 'false', 'null'),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(fc.tuple(fc.oneof(text, fc.constantFrom('__proto__', 'constructor', 'ip')), tie('value')), {
        maxLength: 3,
      })
      .map((members) => `{${members.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ),
})).value;
const objectText = fc
  .array(fc.tuple(fc.oneof(text, fc.constant('__proto__')), valueText), { maxLength: 4 })
  .map((members) => `{${members.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);
const nested = (depth: number) => `${'{"d":'.repeat(depth)}1${'}'.repeat(depth)}`;

const VALID_TIMESTAMPS = [
  '2024-05-01T12:00:00Z',
  '2015-2-02T00:30:08.276Z',
  '2024-05-01 12:00',
  '9999-12-31T00:00:00Z',
];

/** Members a message of the type needs to be valid. */
function requiredMembers(type: string, name: string): Member[] {
  const s = JSON.stringify;
  switch (type) {
    case 'track':
      return [['event', s(name)]];
    case 'group':
      return [['groupId', s(name)]];
    case 'alias':
      return [['previousId', s(name)]];
    default:
      return [];
  }
}

/** A field the type's validation requires to be an object. */
function objectField(type: string): string {
  if (type === 'identify' || type === 'group') return 'traits';
  return type === 'alias' ? 'integrations' : 'properties';
}

/** Each defect makes a message invalid whatever else it holds. */
const DEFECTS: Record<string, (type: string) => Member[] | 'drop-ids' | 'drop-required'> = {
  missingIds: () => 'drop-ids',
  missingRequired: (type) => (['track', 'group', 'alias'].includes(type) ? 'drop-required' : [['userId', '42']]),
  numericUserId: () => [['userId', '42']],
  badTimestamp: () => [['timestamp', '"2024-02-30T10:00:00Z"']],
  wordTimestamp: () => [['sentAt', '"yesterday"']],
  arrayObjectField: (type) => [[objectField(type), '[1,2]']],
  stringContext: () => [['context', '"web"']],
  unknownType: () => [['type', '"launch"']],
  tooDeep: () => [['properties', nested(70)]],
  tooLarge: () => [['properties', JSON.stringify({ pad: 'x'.repeat(33 * 1024) })]],
  // A duplicate key: the last value wins, so a good value first and a bad one last is invalid.
  duplicateBadLast: () => [
    ['userId', '"fine"'],
    ['userId', '{}'],
  ],
};

const message = (run: string, index: number): fc.Arbitrary<Generated> =>
  fc
    .record({
      type: fc.constantFrom('track', 'identify', 'page', 'screen', 'group', 'alias'),
      name: text.filter((t) => t.length > 0),
      userId: fc.option(
        text.filter((t) => t.length > 0),
        { nil: undefined },
      ),
      properties: fc.option(objectText, { nil: undefined }),
      context: fc.option(objectText, { nil: undefined }),
      timestamp: fc.option(fc.constantFrom(...VALID_TIMESTAMPS), { nil: undefined }),
      withinDepth: fc.boolean(),
      duplicateGoodLast: fc.boolean(),
      defect: fc.option(fc.constantFrom(...Object.keys(DEFECTS)), { nil: undefined, freq: 2 }),
      nonObject: fc.oneof(
        { weight: 9, arbitrary: fc.constant(undefined) },
        fc.constantFrom('string', 'array', 'number'),
      ),
    })
    .map((m): Generated => {
      const id = `${run}-${index}`;
      if (m.nonObject) {
        const item =
          m.nonObject === 'string'
            ? JSON.stringify(id)
            : m.nonObject === 'array'
              ? `[${JSON.stringify(id)}]`
              : `[${index}, ${JSON.stringify(id)}]`;
        return { valid: false, text: item, id, object: false };
      }
      const s = JSON.stringify;
      let members: Member[] = [
        ['type', s(m.type)],
        ['messageId', s(id)],
        ['anonymousId', s(`anon-${run}`)],
        ...requiredMembers(m.type, m.name),
      ];
      if (m.userId !== undefined) members.push(['userId', s(m.userId)]);
      if (m.properties !== undefined)
        members.push([m.type === 'identify' || m.type === 'group' ? 'traits' : 'properties', m.properties]);
      if (m.context !== undefined) members.push(['context', m.context]);
      if (m.timestamp !== undefined) members.push(['timestamp', s(m.timestamp)]);
      if (m.withinDepth) members.push(['properties', `{"deep":${nested(40)}}`]);
      // A duplicate key whose last value is good keeps the message valid.
      if (m.duplicateGoodLast) members.unshift(['event', '{}'], ['timestamp', '"never"']);
      if (m.duplicateGoodLast) members.push(['timestamp', s(VALID_TIMESTAMPS[0])]);
      if (m.duplicateGoodLast && m.type === 'track') members.push(['event', s(m.name)]);
      if (m.defect !== undefined) {
        const defect = DEFECTS[m.defect]?.(m.type);
        if (defect === 'drop-ids') members = members.filter(([key]) => key !== 'userId' && key !== 'anonymousId');
        else if (defect === 'drop-required') {
          members = members.filter(([key]) => !['event', 'groupId', 'previousId'].includes(key));
        } else if (defect) members.push(...defect);
      }
      return {
        valid: m.defect === undefined,
        text: `{${members.map(([k, v]) => `${s(k)}:${v}`).join(',')}}`,
        id,
        object: true,
      };
    });

describe('/v1/batch under arbitrary JSON (property)', () => {
  let app: TestApp;
  let ws: WorkspaceCredentials;
  let sql: TestSql;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' });
    ws = await createWorkspace(app);
    sql = await TestSql.connect(app);
    await sql.setWorkspaceSettings(ws.workspaceId, { tracking: { rateLimitPerSecond: 1_000_000 } });
  });
  afterAll(async () => {
    await sql.close();
    await app.close();
  });

  it('never answers 5xx, stores each valid message once and quarantines each invalid one', async () => {
    let run = 0;
    const batch = fc.integer({ min: 1, max: 12 }).chain((size) => {
      run += 1;
      const id = `fz${run}-${Math.random().toString(36).slice(2, 8)}`;
      return fc.tuple(fc.constant(id), fc.tuple(...Array.from({ length: size }, (_, i) => message(id, i))));
    });
    const envelope = fc.record({ context: fc.option(objectText, { nil: undefined }), sendTwice: fc.boolean() });

    await fc.assert(
      fc.asyncProperty(batch, envelope, async ([runId, items], { context, sendTwice }) => {
        const body =
          `{"batch":[${items.map((item) => item.text).join(',')}]` +
          (context === undefined ? '' : `,"context":${context}`) +
          `,"batch":[${items.map((item) => item.text).join(',')}]}`;
        const send = () =>
          app
            .http()
            .post('/v1/batch')
            .set('authorization', basicAuth(ws.writeKey))
            .set('content-type', 'application/json')
            .send(body);
        const response = await send();
        const retried = sendTwice ? await send() : response;
        for (const answer of [response, retried]) expect(answer.status).toBeLessThan(500);

        const valid = items.filter((item) => item.valid);
        const expected = valid.length > 0 ? [200] : [400, 413];
        expect(expected).toContain(response.status);
        const stored = await sql.rows<{ message_id: string; n: string }>(
          'SELECT message_id, count(*) AS n FROM events WHERE workspace_id = $1 AND message_id LIKE $2 GROUP BY message_id',
          [ws.workspaceId, `${runId}-%`],
        );
        expect(new Map(stored.map((row) => [row.message_id, Number(row.n)]))).toEqual(
          new Map(valid.map((item) => [item.id, 1])),
        );
        const quarantined = await sql.rows<{ message_id: string | null; message: string }>(
          "SELECT message_id, message::text AS message FROM quarantine WHERE workspace_id = $1 AND kind = 'rejected' AND (message_id LIKE $2 OR message::text LIKE $3)",
          [ws.workspaceId, `${runId}-%`, `%"${runId}-%`],
        );
        for (const item of items.filter((i) => !i.valid)) {
          const rows = quarantined.filter((row) =>
            item.object ? row.message_id === item.id : row.message.includes(`"${item.id}"`),
          );
          expect({ id: item.id, rows: rows.length }).toEqual({ id: item.id, rows: 1 });
        }
        if (response.status === 200) {
          const rejected = (response.body.rejected ?? []) as { index: number }[];
          expect(rejected.map((r) => r.index)).toEqual(items.flatMap((item, index) => (item.valid ? [] : [index])));
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    await app.http().get('/health').expect(200);
    await app
      .http()
      .post('/v1/track')
      .set('authorization', basicAuth(ws.writeKey))
      .send({ userId: 'after-fuzz', event: 'Still Works' })
      .expect(200);
  });
});
