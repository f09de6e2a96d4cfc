import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';

import type { SinkReport } from './smtp-sink';

/** The parent side of bench/sync/smtp-sink.ts: acceptance times by recipient. */
export class SinkClient {
  readonly acceptedAt = new Map<string, number[]>();
  count = 0;
  lastAt = 0;
  /** Size of the messages accepted so far (as the server received them), to compare phases. */
  bytes = 0;
  private waiters: { target: number; resolve: () => void }[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on('message', (message: SinkReport | { port: number }) => {
      if (!('accepted' in message)) return;
      for (const { to, at, bytes } of message.accepted) {
        this.acceptedAt.set(to, [...(this.acceptedAt.get(to) ?? []), at]);
        this.count += 1;
        this.bytes += bytes;
        this.lastAt = Math.max(this.lastAt, at);
      }
      this.waiters = this.waiters.filter((w) => (this.count >= w.target ? (w.resolve(), false) : true));
    });
  }

  static async start(): Promise<SinkClient> {
    const child = fork(join(__dirname, 'smtp-sink.ts'), [], { execArgv: ['-r', '@swc-node/register'] });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.on('message', (message: { port?: number }) => message.port && resolve(message.port));
    });
    return new SinkClient(child, port);
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** Resolves once `target` messages in total have been accepted. */
  until(target: number, timeoutMs: number): Promise<void> {
    if (this.count >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sink saw ${this.count} of ${target} messages`)), timeoutMs);
      this.waiters.push({ target, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  stop(): void {
    this.child.disconnect();
  }
}
