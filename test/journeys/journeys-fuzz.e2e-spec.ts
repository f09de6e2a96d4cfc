import fc from 'fast-check';

import { destinationsApi } from '../destinations/support/api';
import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../support/app';

/**
 * Journey definitions under arbitrary input: a valid body with one value somewhere replaced by
 * anything (wrong types, huge numbers, nasty text, deep nesting). Never a 5xx; a 400 names a field.
 */

const RUNS = Number(process.env.MANAGEMENT_FUZZ_RUNS ?? 120);

const nasty = fc.constantFrom('\u0000', '\uD800', 'x\uDFFF', '', ' ', '"', '%', '😀', 'a'.repeat(300));
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ maxLength: 20 }),
  nasty,
  fc.constantFrom(1e308, -1e308, 2 ** 63, 1e-320, 0.5, -1, 0, null, 'nudge', 'wait', 'performed "A" within 1e9 days'),
  fc.constant({ a: [[[['deep']]]] }),
);

function replaceLeaf(value: unknown, path: number[], replacement: unknown): unknown {
  if (path.length === 0 || typeof value !== 'object' || value === null) return replacement;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  if (entries.length === 0) return replacement;
  const [head = 0, ...rest] = path;
  const [key, child] = entries[head % entries.length] ?? ['0', undefined];
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...value };
  (copy as Record<string, unknown>)[key] = replaceLeaf(child, rest, replacement);
  return copy;
}

describe('journeys API under arbitrary input (property)', () => {
  let app: TestApp;
  let ws: WorkspaceCredentials;
  let valid: Record<string, unknown>;
  let journeyId: string;

  beforeAll(async () => {
    app = await startTestApp({ ROLE: 'api' });
    ws = await createWorkspace(app, 'Journey fuzz');
    const destination = await destinationsApi(app, ws.apiToken).createEmail({
      from: 'a@acme.test',
      subject: 'Hi',
      text: 'Hi',
    });
    await app
      .http()
      .post('/api/audiences')
      .set('authorization', `Bearer ${ws.apiToken}`)
      .send({ key: 'entry', name: 'Entry', definition: 'performed "Signed Up"' })
      .expect(201);
    valid = {
      key: 'fuzz',
      name: 'Fuzz',
      entry: { audience: 'entry', includeCurrentMembers: false },
      reentry: { after: { amount: 30, unit: 'days' } },
      exit: { when: 'performed "Goal"', onAudienceExit: true },
      quietHours: { start: '21:00', end: '08:00', timezone: 'Europe/Paris' },
      steps: [
        { id: 'split', type: 'split', variants: [{ key: 'a', percent: 90, next: 'wait' }], holdout: 10 },
        {
          id: 'wait',
          type: 'wait_until',
          condition: 'performed "A"',
          timeout: { amount: 7, unit: 'days' },
          next: 'branch',
          timeoutNext: 'send',
        },
        { id: 'branch', type: 'branch', condition: 'trait persona = "technical"', then: 'send', else: 'end' },
        { id: 'send', type: 'send', destination, subject: 'Hi {{ traits.name }}', next: 'pause' },
        { id: 'pause', type: 'wait', duration: { amount: 1, unit: 'days' }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    };
    const created = await app.http().post('/api/journeys').set('authorization', `Bearer ${ws.apiToken}`).send(valid);
    expect(created.status).toBe(201);
    journeyId = (created.body as { id: string }).id;
  });

  afterAll(() => app.close());

  it('answers create and edit with 2xx, 400 or 409, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(), { maxLength: 6 }),
        anyValue,
        fc.boolean(),
        async (path, replacement, edit) => {
          const body = replaceLeaf(valid, path, replacement) as Record<string, unknown>;
          const response = edit
            ? await app
                .http()
                .patch(`/api/journeys/${journeyId}`)
                .set('authorization', `Bearer ${ws.apiToken}`)
                .send({ ...body, key: undefined })
            : await app
                .http()
                .post('/api/journeys')
                .set('authorization', `Bearer ${ws.apiToken}`)
                .send({ ...body, key: `k${path.join('-')}` });
          expect(response.status).toBeLessThan(500);
          if (response.status === 400) expect((response.body as { message: string }).message).toMatch(/\S/);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
