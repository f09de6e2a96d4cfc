/** A caller waiting for the outputs of its inputs, which may be spread over several batches. */
interface Waiter<O> {
  outputs: O[];
  left: number;
  resolve: (outputs: O[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Coalesces calls into one batch call (DataLoader's trick): those made in the same turn of the
 * event loop, or, with `windowMs`, within that many milliseconds of the first one. The delivery
 * workers run many jobs at once; claiming and recording them a statement per batch instead of a
 * statement per email keeps Postgres round trips, and the event-loop time they cost, from
 * starving the SMTP connections. A failed batch rejects every caller in it.
 */
export class Batcher<I, O> {
  // Parallel arrays rather than an object per input: a caller of callMany hands over a claim's
  // 1,250 transitions at once, and they cost a slot each instead of an object and a promise.
  private inputs: I[] = [];
  private waiters: Waiter<O>[] = [];
  private slots: number[] = [];
  private scheduled = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly run: (inputs: I[]) => Promise<O[]>,
    private readonly maxBatch = 100,
    private readonly windowMs = 0,
  ) {}

  call(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.add([input], { outputs: [], left: 1, resolve: (outputs) => resolve(outputs[0] as O), reject });
    });
  }

  /**
   * Several inputs at once, batched exactly as as many `call`s in a row would be; one promise for
   * all of their outputs, in order.
   */
  callMany(inputs: I[]): Promise<O[]> {
    if (inputs.length === 0) return Promise.resolve([]);
    return new Promise<O[]>((resolve, reject) => {
      this.add(inputs, { outputs: new Array<O>(inputs.length), left: inputs.length, resolve, reject });
    });
  }

  private add(inputs: I[], waiter: Waiter<O>): void {
    inputs.forEach((input, slot) => {
      this.inputs.push(input);
      this.waiters.push(waiter);
      this.slots.push(slot);
      if (this.inputs.length >= this.maxBatch) this.flush();
    });
    if (this.inputs.length > 0 && !this.scheduled) {
      this.scheduled = true;
      if (this.windowMs > 0) this.timer = setTimeout(() => this.flush(), this.windowMs);
      else setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    clearTimeout(this.timer);
    const { inputs, waiters, slots } = this;
    this.inputs = [];
    this.waiters = [];
    this.slots = [];
    if (inputs.length === 0) return;
    this.run(inputs).then(
      (outputs) =>
        waiters.forEach((waiter, i) => {
          waiter.outputs[slots[i]!] = outputs[i] as O;
          if (--waiter.left === 0) waiter.resolve(waiter.outputs);
        }),
      // A caller whose inputs were split over batches is rejected by the first that fails.
      (error: unknown) => waiters.forEach((waiter) => waiter.reject(error)),
    );
  }
}
