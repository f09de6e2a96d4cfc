import { Batcher } from './batcher';

/** A batcher that records each batch it runs and answers each input through `answer`. */
function recording(
  answer: (n: number) => number,
  maxBatch: number,
): { batcher: Batcher<number, number>; batches: number[][] } {
  const batches: number[][] = [];
  const batcher = new Batcher<number, number>(async (inputs) => {
    batches.push(inputs);
    return inputs.map(answer);
  }, maxBatch);
  return { batcher, batches };
}

describe('Batcher', () => {
  it('runs calls of the same tick as one batch and hands each caller its own result', async () => {
    const { batcher, batches } = recording((n) => n * 2, 3);
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.call(n)));
    expect(results).toEqual([2, 4, 6, 8, 10]);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('with a window, also batches calls of later ticks that come within it', async () => {
    const batches: number[][] = [];
    const batcher = new Batcher<number, number>(
      async (inputs) => {
        batches.push(inputs);
        return inputs;
      },
      100,
      30,
    );
    const first = batcher.call(1);
    await new Promise((resolve) => setImmediate(resolve));
    const second = batcher.call(2);
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(batches).toEqual([[1, 2]]);
    // A full batch does not wait for the window.
    const started = Date.now();
    const full = new Batcher<number, number>(async (inputs) => inputs, 2, 10_000);
    expect(await Promise.all([full.call(3), full.call(4)])).toEqual([3, 4]);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('batches callMany as that many calls in a row, even split over batches, and answers in order', async () => {
    const { batcher, batches } = recording((n) => n * 10, 4);
    const single = batcher.call(1);
    const many = batcher.callMany([2, 3, 4, 5, 6]);
    const none = batcher.callMany([]);
    expect(await Promise.all([single, many, none])).toEqual([10, [20, 30, 40, 50, 60], []]);
    expect(batches).toEqual([
      [1, 2, 3, 4],
      [5, 6],
    ]);
  });

  it('rejects a callMany caller when any of the batches its inputs went to fails', async () => {
    let runs = 0;
    const batcher = new Batcher<number, number>(async (inputs) => {
      if (++runs === 2) throw new Error('second batch failed');
      return inputs;
    }, 2);
    await expect(batcher.callMany([1, 2, 3])).rejects.toThrow('second batch failed');
  });

  it('rejects every caller of a failed batch', async () => {
    const batcher = new Batcher<number, number>(() => Promise.reject(new Error('db down')));
    await expect(Promise.all([batcher.call(1), batcher.call(2)])).rejects.toThrow('db down');
  });
});
