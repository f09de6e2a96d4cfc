/**
 * Coalesces calls into one batch call (DataLoader's trick): those made in the same turn of the
 * event loop, or, with `windowMs`, within that many milliseconds of the first one. The delivery
 * workers run many jobs at once; claiming and recording them a statement per batch instead of a
 * statement per email keeps Postgres round trips, and the event-loop time they cost, from
 * starving the SMTP connections. A failed batch rejects every caller in it.
 */
export class Batcher<I, O> {
  private pending: { input: I; resolve: (output: O) => void; reject: (error: unknown) => void }[] = [];
  private scheduled = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly run: (inputs: I[]) => Promise<O[]>,
    private readonly maxBatch = 100,
    private readonly windowMs = 0,
  ) {}

  call(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        if (this.windowMs > 0) this.timer = setTimeout(() => this.flush(), this.windowMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    clearTimeout(this.timer);
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.run(batch.map((entry) => entry.input)).then(
      (outputs) => batch.forEach((entry, i) => entry.resolve(outputs[i] as O)),
      (error: unknown) => batch.forEach((entry) => entry.reject(error)),
    );
  }
}
