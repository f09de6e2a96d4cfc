/**
 * At most `slots` sends at once, the rest waiting in arrival order. An SMTP pool of N connections
 * gets N messages at a time, so a message waits here, where its claim can still be checked (and
 * renewed) at the moment it is handed over, rather than in the pool's own queue, where it could sit
 * until its claim ran out and then be sent while another worker sends it too.
 */
export class SendGate {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly slots: number) {}

  /** Runs `send` in a free slot if `ready` (asked once the slot is ours) still says yes. */
  async run<T>(ready: () => boolean | Promise<boolean>, send: () => Promise<T>, refused: () => T): Promise<T> {
    await this.acquire();
    try {
      return (await ready()) ? await send() : refused();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.busy < this.slots) {
      this.busy += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** A freed slot passes straight to the next waiter. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.busy -= 1;
  }
}
