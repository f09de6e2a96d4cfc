/** At most `limit` tasks per key at once, the rest in arrival order: one busy key cannot fill the threads' queue. */
export class PerKeyGate {
  private readonly active = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(private readonly limit: number) {}

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const active = this.active.get(key) ?? 0;
    if (active < this.limit) this.active.set(key, active + 1);
    else {
      await new Promise<void>((resolve) => {
        const queue = this.waiting.get(key) ?? [];
        queue.push(resolve);
        this.waiting.set(key, queue);
      });
    }
    try {
      return await task();
    } finally {
      this.release(key);
    }
  }

  /** A freed slot passes straight to the key's next waiter. */
  private release(key: string): void {
    const queue = this.waiting.get(key);
    const next = queue?.shift();
    if (queue?.length === 0) this.waiting.delete(key);
    if (next) return next();
    const active = (this.active.get(key) ?? 1) - 1;
    if (active > 0) this.active.set(key, active);
    else this.active.delete(key);
  }
}
