/**
 * At most `perKey` holders per key (a workspace), first come first served, so that one workspace
 * running slow queries cannot take every interactive connection from the others. A waiter gives
 * up after `waitMs` or when its request is aborted; either way it leaves the queue at once.
 */
export class SlotWaitTimeoutError extends Error {}
export class SlotWaitAbortedError extends Error {}

interface Waiter {
  grant(): void;
  fail(error: Error): void;
}

interface KeySlots {
  held: number;
  waiters: Waiter[];
}

export type ReleaseSlot = () => void;

export class WorkspaceSlots {
  private readonly keys = new Map<string, KeySlots>();

  constructor(private readonly perKey: number) {}

  /** Resolves with a release function once a slot is free; call it exactly once. */
  async acquire(key: string, waitMs: number, signal?: AbortSignal): Promise<ReleaseSlot> {
    if (signal?.aborted) throw new SlotWaitAbortedError('the request was aborted');
    const slots = this.keys.get(key) ?? { held: 0, waiters: [] };
    this.keys.set(key, slots);
    if (slots.held < this.perKey) {
      slots.held += 1;
      return this.releaser(key, slots);
    }
    return new Promise<ReleaseSlot>((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const index = slots.waiters.indexOf(waiter);
        if (index >= 0) slots.waiters.splice(index, 1);
      };
      const waiter: Waiter = {
        // The slot is handed over by the releaser: `held` stays the same.
        grant: () => {
          leave();
          resolve(this.releaser(key, slots));
        },
        fail: (error) => {
          leave();
          this.forgetIfIdle(key, slots);
          reject(error);
        },
      };
      const onAbort = () => waiter.fail(new SlotWaitAbortedError('the request was aborted'));
      const timer = setTimeout(() => waiter.fail(new SlotWaitTimeoutError(`no slot within ${waitMs} ms`)), waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      slots.waiters.push(waiter);
    });
  }

  /** Slots held now for `key` (for tests and metrics). */
  held(key: string): number {
    return this.keys.get(key)?.held ?? 0;
  }

  private releaser(key: string, slots: KeySlots): ReleaseSlot {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = slots.waiters[0];
      if (next) {
        next.grant();
        return;
      }
      slots.held -= 1;
      this.forgetIfIdle(key, slots);
    };
  }

  private forgetIfIdle(key: string, slots: KeySlots): void {
    if (slots.held === 0 && slots.waiters.length === 0 && this.keys.get(key) === slots) this.keys.delete(key);
  }
}
