import { PerKeyGate } from './per-key-gate';

describe('PerKeyGate', () => {
  it('lets another key in while one key has its limit of tasks running', async () => {
    const gate = new PerKeyGate(1);
    const started: string[] = [];
    const releases: (() => void)[] = [];
    const task = (name: string) => () =>
      new Promise<void>((resolve) => {
        started.push(name);
        releases.push(resolve);
      });
    const all = [gate.run('a', task('a1')), gate.run('a', task('a2')), gate.run('b', task('b1'))];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['a1', 'b1']);
    releases.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['a1', 'b1', 'a2']);
    releases.forEach((release) => release());
    await Promise.all(all);
  });
});
