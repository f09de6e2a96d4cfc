import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

import Redis from 'ioredis';

import { spawnTracked } from './processes';
import { waitFor } from './wait-for';

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

class PortTakenError extends Error {}

/**
 * A redis-server of the test's own on a free port, so a test can stop and restart Redis
 * without disturbing tests that share the machine's Redis.
 */
export class PrivateRedis {
  private process?: ChildProcess;

  private constructor(readonly port: number) {}

  /**
   * Between freePort and redis-server's bind, another process (another suite's PrivateRedis, say)
   * can take the port; our redis-server then exits, and a ping would reach theirs. A server is
   * ours only when it answers with our child's pid; otherwise try another port.
   */
  static async start(): Promise<PrivateRedis> {
    for (let attempt = 1; ; attempt += 1) {
      const redis = new PrivateRedis(await freePort());
      try {
        await redis.start();
        return redis;
      } catch (error) {
        await redis.stop();
        if (attempt >= 5) throw error;
      }
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawnTracked(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore', env: { PATH: process.env.PATH ?? '' } },
    );
    this.process = child;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new PortTakenError(`redis-server on ${this.port} exited (port taken?)`);
        return this.ping();
      },
      { what: `redis-server on ${this.port}`, failOn: (error) => error instanceof PortTakenError },
    );
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.process = undefined;
  }

  /** Whether our redis-server answers; throws PortTakenError when another one answers on its port. */
  private async ping(): Promise<boolean> {
    const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    let info: string;
    try {
      await client.connect();
      info = await client.info('server');
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
    const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
    if (pid !== this.process?.pid) throw new PortTakenError(`port ${this.port} is another process's redis-server`);
    return true;
  }
}
