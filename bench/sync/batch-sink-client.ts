import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';

import type { BatchSinkCommand, BatchSinkReport } from './batch-sink';

/** The parent side of bench/sync/batch-sink.ts: messages received, and when the last came. */
export class BatchSinkClient {
  messages = 0;
  requests = 0;
  lastAt = 0;
  private waiters: { target: number; resolve: () => void }[] = [];
  private bodyWaiter?: (bodies: string[]) => void;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on('message', (message: BatchSinkReport | { bodies: string[] } | { port: number }) => {
      if ('bodies' in message) {
        this.bodyWaiter?.(message.bodies);
        return;
      }
      if (!('received' in message)) return;
      for (const { messages, at } of message.received) {
        this.messages += messages;
        this.requests += 1;
        this.lastAt = Math.max(this.lastAt, at);
      }
      this.waiters = this.waiters.filter((w) => (this.messages >= w.target ? (w.resolve(), false) : true));
    });
  }

  static async start(): Promise<BatchSinkClient> {
    const child = fork(join(__dirname, 'batch-sink.ts'), [], { execArgv: ['-r', '@swc-node/register'] });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.on('message', (message: { port?: number }) => message.port && resolve(message.port));
    });
    return new BatchSinkClient(child, port);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Keeps (or stops keeping) the bodies received from now on. */
  capture(on: boolean): void {
    this.child.send({ capture: on } satisfies BatchSinkCommand);
  }

  bodies(): Promise<string[]> {
    return new Promise((resolve) => {
      this.bodyWaiter = resolve;
      this.child.send({ send: 'bodies' } satisfies BatchSinkCommand);
    });
  }

  /** Resolves once `target` messages in total have been received. */
  until(target: number, timeoutMs: number): Promise<void> {
    if (this.messages >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sink saw ${this.messages} of ${target} messages`)), timeoutMs);
      this.waiters.push({ target, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  stop(): void {
    this.child.disconnect();
  }
}
