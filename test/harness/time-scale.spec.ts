import { scaled, TimeoutStretcher, timeScale } from '../support/time-scale';
import { waitFor } from '../support/wait-for';

describe('deadlines that stretch with the load', () => {
  const saved = process.env.TEST_TIME_SCALE;
  afterEach(() => {
    if (saved === undefined) delete process.env.TEST_TIME_SCALE;
    else process.env.TEST_TIME_SCALE = saved;
  });

  it('is at least 1 from the load average, or what TEST_TIME_SCALE says', () => {
    delete process.env.TEST_TIME_SCALE;
    expect(timeScale()).toBeGreaterThanOrEqual(1);
    expect(timeScale()).toBeLessThanOrEqual(10);
    process.env.TEST_TIME_SCALE = '3';
    expect(scaled(1_000)).toBe(3_000);
  });

  it('stretches a test or hook timeout once, from what was asked for, or the default', () => {
    process.env.TEST_TIME_SCALE = '4';
    const stretcher = new TimeoutStretcher();
    const hook: { timeout?: number } = { timeout: 1_000 };
    const test: { timeout?: number | null } = {};
    stretcher.stretch(hook, 60_000);
    stretcher.stretch(hook, 60_000);
    stretcher.stretch(test, 60_000);
    expect(hook.timeout).toBe(4_000);
    expect(test.timeout).toBe(240_000);
  });

  it('lets waitFor wait past its nominal deadline when the machine is slow', async () => {
    process.env.TEST_TIME_SCALE = '50';
    let calls = 0;
    // Nominally 10 ms; the probe needs about 100 ms.
    await expect(waitFor(() => ++calls >= 5, { timeoutMs: 10, intervalMs: 20 })).resolves.toBe(true);
    process.env.TEST_TIME_SCALE = '1';
    await expect(waitFor(() => false, { timeoutMs: 10, what: 'never' })).rejects.toThrow(/waiting for never/);
  });
});
