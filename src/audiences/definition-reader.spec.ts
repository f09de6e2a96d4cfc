import { DefinitionReader, INLINE_TEXT_LENGTH } from './definition-reader';
import { readAudienceDefinition } from './language/audience-definition';

/** A valid definition of `n` conditions, each with filters: slow to parse, about 90 characters per condition. */
function longDefinition(n: number): string {
  return Array.from(
    { length: n },
    (_, i) => `(performed "Event ${i}" at least 2 times within 30 days where (plan = "pro" and total > ${i}))`,
  ).join(' or ');
}

describe('DefinitionReader', () => {
  jest.setTimeout(60_000);
  const reader = new DefinitionReader();
  afterAll(() => reader.onModuleDestroy());

  it('reads long text in a thread to the same AST, text and errors as on the event loop', async () => {
    const valid = longDefinition(60);
    const invalid = `${longDefinition(20)} or performed "x" at least many times`;
    expect(valid.length).toBeGreaterThan(INLINE_TEXT_LENGTH);
    expect(await reader.read('ws', valid)).toEqual(readAudienceDefinition(valid, 'definition'));
    const read = await reader.read('ws', invalid, 'profile', 'steps[0].where');
    expect(read).toEqual(readAudienceDefinition(invalid, 'steps[0].where'));
    expect(read).toMatchObject({ ok: false, errors: [{ path: 'steps[0].where', message: /^line 1, col \d+: / }] });
  });

  it('reads short text and JSON on the event loop', async () => {
    expect(await reader.read('ws', 'inactive 30 days')).toMatchObject({ ok: true, text: 'inactive 30 days' });
    const ast = { type: 'inactive', duration: { amount: 30, unit: 'days' } };
    expect(await reader.read('ws', ast)).toEqual(readAudienceDefinition(ast, 'definition'));
  });

  it('keeps the event loop turning while long definitions are read', async () => {
    const text = longDefinition(100);
    await reader.read('ws', text); // the thread is started
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 1);
    const started = performance.now();
    // Parsed on the event loop, the timer could not fire until every read was over.
    await Promise.all([reader.read('a', text), reader.read('b', text), reader.read('a', text)]);
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect(elapsed).toBeGreaterThan(10);
    expect(ticks).toBeGreaterThanOrEqual(3);
  });
});
